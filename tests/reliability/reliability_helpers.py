"""Helpers shared by the reliability tests (imported by the test modules, not collected)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ProjectDir, init_project_at, seed_example

if TYPE_CHECKING:
    from envman.ops import Project

HERE = Path(__file__).resolve().parent
WORKERS = HERE / "workers.py"
PYTHON = sys.executable
# a writer that has not finished by then is stuck (deadlock), not slow: the slowest run seen is far below
DEADLOCK_TIMEOUT = 300


def worker_env(**extra: str) -> dict[str, str]:
    """The test's environment for a worker process (keys file, actor, no keychain), plus ``extra``."""
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def run_writers(root: Path, jobs: list[dict[str, Any]], env: dict[str, str] | None = None) -> list[list[dict[str, Any]]]:
    """Start one `workers.py loop` process per job, release them together, and return each one's results.

    A worker that does not finish within DEADLOCK_TIMEOUT fails the test as a deadlock (all are killed).
    """
    procs = [
        subprocess.Popen([PYTHON, str(WORKERS), "loop", json.dumps(job)], cwd=root, env=env or worker_env(),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for job in jobs
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.strip() == "ready", (first, proc.stderr.read() if proc.stderr else "")
        for proc in procs:  # the start signal: every writer is loaded and waiting
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=DEADLOCK_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"a writer was still running after {DEADLOCK_TIMEOUT}s: deadlock or livelock") from None
            assert proc.returncode == 0, err
            results.append([json.loads(line) for line in out.splitlines() if line.strip()])
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def ledger_lines(root: Path) -> list[bytes]:
    """The complete lines of the project's ledger (a torn last line is left out)."""
    try:
        data = (root / "environments" / "ledger.jsonl").read_bytes()
    except FileNotFoundError:
        return []
    return data[: data.rfind(b"\n") + 1].splitlines()


def verify(cli: Any) -> tuple[int, dict[str, Any]]:
    """`envman ledger verify --json`: (exit code, report)."""
    result = cli("ledger", "verify", "--json")
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def check(cli: Any) -> tuple[int, dict[str, Any]]:
    """`envman check --json`: (exit code, report)."""
    result = cli("check", "--json")
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def make_project(base: Path, monkeypatch: pytest.MonkeyPatch, *, seeded: bool = True, project_id: str = "demo-app") -> ProjectDir:
    """init (and import the LLM example into every environment) in ``base``; cwd and ENVMAN_KEYS_FILE point at it."""
    project = init_project_at(base / "app", base / "keys.env", monkeypatch, project_id=project_id)
    if seeded:
        seed_example(project.root)
    return project


def make_live(project: ProjectDir) -> None:
    """Give production's key an owner, a rotation method and a rollback value (the go-live gate E008 for promotions)."""
    from envman.lifecycle import rotate, set_owner

    p = project.open()
    set_owner(p, "production", "ALLTKN_API_KEY", owner="alice", rotation_method="provider console", rotation_days=90)
    rotate(p, "production", "ALLTKN_API_KEY", "sk-prod-eeeeeeeeeeeeeeee5555")


def set_jobs(env: str, prefix: str, writers: int, sets: int) -> list[dict[str, Any]]:
    return [{"commands": [{"argv": ["set", env, f"{prefix}{w}", str(i), "--type", "int", "--json"]} for i in range(sets)],
             "retry": ["changed by someone else", "kept changing"], "seed": w}
            for w in range(writers)]


def check_serialised_sets(p: Any, env: str, base: int, results: list[list[dict[str, Any]]], prefix: str) -> dict[int, tuple[int, int]]:
    """Every set succeeded, versions base+1.. are each written once, and each is its predecessor plus one change."""
    reported: dict[int, tuple[int, int]] = {}
    for w, runs in enumerate(results):
        for i, run in enumerate(runs):
            assert run["code"] == 0, run["stderr"]
            version = json.loads(run["stdout"])["version"]
            assert version not in reported, f"version {version} reported twice"
            reported[version] = (w, i)
    total = sum(len(r) for r in results)
    assert sorted(reported) == list(range(base + 1, base + total + 1))
    previous = p.store.version(env, base)
    for version in range(base + 1, base + total + 1):
        w, i = reported[version]
        current = p.store.version(env, version)
        assert current.values == {**previous.values, f"{prefix}{w}": str(i)}, f"version {version} lost or mixed an update"
        assert current.secrets == previous.secrets
        previous = current
    for w, runs in enumerate(results):  # a writer's own sets land in the order it made them
        mine = [v for v, (ww, _) in sorted(reported.items()) if ww == w]
        assert [reported[v][1] for v in mine] == list(range(len(runs)))
    return reported


@dataclass
class SetRace:
    """What race_sets saw: the project reopened after the race, the environment's version and the ledger's entry
    count before it, each writer's results, and which (writer, n-th set) wrote each new version."""

    project: Project
    base: int
    entries: int
    results: list[list[dict[str, Any]]]
    reported: dict[int, tuple[int, int]]


def race_sets(project: ProjectDir, cli: Any, env: str, prefix: str, writers: int, sets: int) -> SetRace:
    """``writers`` processes × ``sets`` `set` on ``env`` at once (variables ``{prefix}{writer}``): every set lands
    as its own version, serialised (check_serialised_sets), and `ledger verify` finds the chain intact with exactly
    one new entry per set."""
    p = project.open()
    base = p.store.current(env).version
    entries = len(list(p.store.entries()))
    results = run_writers(project.root, set_jobs(env, prefix, writers, sets))
    p = project.open()
    reported = check_serialised_sets(p, env, base, results, prefix)
    code, report = verify(cli)
    assert (code, report["findings"], report["chain"]) == (0, [], None)
    assert report["entries"] == entries + writers * sets
    return SetRace(p, base, entries, results, reported)
