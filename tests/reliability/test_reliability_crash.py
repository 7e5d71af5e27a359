"""Writers SIGKILLed at random points, hundreds of times: nothing committed is ever lost or corrupted.

A fork server (workers.py crash-driver) runs each command in a child process
that kills itself with SIGKILL at its K-th file system step — before the step,
after it, or halfway through a write — K and the command drawn from a seeded
random generator (RELIABILITY_SEED, default below). After every kill the
project is checked against what was committed before it, then made consistent
again by `envman repair` or by the next writer, and checked again.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import PYTHON, WORKERS, check, ledger_lines, make_live, verify, worker_env

import envman.store.files as files
from envman.ledger import VERSION_EVENTS, check_chain, decode
from envman.manifest import load_manifest
from envman.profile import profile_from_toml

SEED = int(os.environ.get("RELIABILITY_SEED", "20261123"))
SEGMENTS, KILLS = 4, 50  # 4 fresh projects × 50 kills: each check reads the whole ledger, so keep it short
ENVS = ("test", "staging", "production")


class Driver:
    """The crash-driver process: one JSON line per command, one JSON reply."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen([PYTHON, str(WORKERS), "crash-driver"], cwd=root, env=worker_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, command: dict[str, Any], kill_at: int, how: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({**command, "kill_at": kill_at, "how": how}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the crash driver died"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _commands(rng: random.Random, n: int, root: Path) -> dict[str, Any]:
    """One writing command, drawn at random (its input made unique by ``n``)."""
    env = rng.choice(ENVS)
    kind = rng.choice(["set", "set", "secret", "rotate", "new-var", "promote", "mark-good", "import", "unset"])
    if kind == "set":
        return {"kind": kind, "argv": ["set", env, "CRASH_N", str(n), "--type", "int"]}
    if kind == "secret":
        return {"kind": kind, "argv": ["set", env, "ALLTKN_API_KEY"], "stdin": f"sk-{env[:4]}-crash{n:05d}{uuid.uuid4().hex}\n"}
    if kind == "rotate":
        return {"kind": kind, "argv": ["rotate", "production", "ALLTKN_API_KEY"], "stdin": f"sk-prod-rot{n:05d}{uuid.uuid4().hex}\n"}
    if kind == "new-var":
        return {"kind": kind, "argv": ["set", env, f"CRASH_NEW_{n}", "x", "--type", "string"]}
    if kind == "promote":
        return {"kind": kind, "argv": ["promote", "staging", "production", "--yes", "--force"]}
    if kind == "mark-good":
        return {"kind": kind, "argv": ["mark-good", env]}
    if kind == "import":
        (root / ".env.crash").write_text(f"CRASH_N={n}\nAI_LOG_LEVEL={rng.choice(['info', 'warn', 'debug'])}\n")
        return {"kind": kind, "argv": ["import", ".env.crash", "--env", env]}
    return {"kind": kind, "argv": ["unset", env, "CRASH_N"]}


def _parse_everything(root: Path) -> None:
    """Every file envman reads parses: manifest, profiles, version files, ledger lines, head."""
    load_manifest(root)
    data = root / "environments"
    for path in data.rglob("*.toml"):
        if not path.name.startswith("."):  # .NAME.PID.tmp: a temp file, never read
            profile_from_toml(str(path), path.read_bytes())
    for line in ledger_lines(root):
        decode(line)
    head = data / "ledger.head"
    if head.exists():
        json.loads(head.read_bytes())


def _newest(lines: list[bytes]) -> dict[str, Any]:
    newest: dict[str, Any] = {}
    for line in lines:
        entry = decode(line)
        if entry.event in VERSION_EVENTS:
            newest[entry.env] = entry
    return newest


def _check_after_kill(root: Path, committed: list[bytes], floor: dict[str, int], writers: int, stats: Counter[str]) -> list[bytes]:
    """The invariants right after one or more kills, before anything repairs them; returns the complete ledger lines."""
    _parse_everything(root)
    lines = ledger_lines(root)
    assert lines[: len(committed)] == committed, "a committed ledger entry changed or disappeared"
    assert len(lines) - len(committed) <= writers, "more new entries than writers"
    assert check_chain(lines)[2] is None
    raw = (root / "environments" / "ledger.jsonl").read_bytes()
    stats["torn_ledger_lines"] += not raw.endswith(b"\n")
    store = files.FileStore(load_manifest(root))
    for line in lines:  # the commit point comes after the version file: every committed version is on disk, intact
        entry = decode(line)
        if entry.event in VERSION_EVENTS:
            stored = profile_from_toml("v", store.version_path(entry.env, entry.version).read_bytes())
            assert stored.content_hash() == entry.profile, f"{entry.env} version {entry.version} does not match its entry"
    newest = _newest(lines)
    for env in ENVS:
        data = store.profile_path(env).read_bytes()
        profile = profile_from_toml(env, data)
        top = newest[env].version if env in newest else 0
        assert floor[env] <= profile.version <= top, (env, profile.version, floor[env], top)
        assert data == store.version_path(env, profile.version).read_bytes(), f"{env}.toml is not a committed version"
        stats["profiles_behind_ledger"] += profile.version < top
    stats["temp_files_left"] += sum(1 for p in (root / "environments").rglob(".*.tmp"))
    return lines


@pytest.mark.parametrize("segment", range(SEGMENTS))
def test_sigkilled_writers_lose_no_committed_version(segment: int, fast_project, cli, figures) -> None:  # type: ignore[no-untyped-def]
    """4 × 50 writers (set, secret via stdin, rotate, new variable, promote, mark-good, import, unset) SIGKILLed at a
    random file system step: every file parses, the ledger is the committed prefix plus at most the killed writers'
    entries, every committed version's file is intact, each profile is a committed version not older than before;
    `ledger verify` reports only interrupted writes (never tampering) and `check` names them (E010) without crashing;
    then `repair` or the next writer restores a state that verifies clean and still holds every committed entry."""
    root = fast_project.root
    make_live(fast_project)
    rng = random.Random(SEED + segment)
    driver = Driver(root)
    stats: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    steps: dict[str, int] = {}
    n = 0
    try:
        # calibration: how many steps each kind of command takes when nothing kills it
        for kind_seed in range(40):
            n += 1
            command = _commands(random.Random(kind_seed), n, root)
            if command["kind"] in steps:
                continue
            reply = driver.run(command, 10**9, "before")
            assert not reply["killed"] and reply["code"] in (0, 2), reply
            steps[command["kind"]] = max(1, reply["steps"])
        assert verify(cli)[0] == 0
        while stats["kills"] < KILLS:
            n += 1
            committed = ledger_lines(root)
            p = fast_project.open()
            floor = {env: p.store.current(env).version for env in ENVS}
            killed = ran = 0
            for _ in range(2 if rng.random() < 0.25 else 1):  # sometimes a second writer dies before anyone repairs
                command = _commands(rng, n, root)
                how = rng.choice(["before", "after", "half", "before", "after", "half", "torn"])
                reply = driver.run(command, rng.randint(1, steps.get(command["kind"], 40) + 8), how)
                ran += 1
                if not reply["killed"]:
                    assert reply["code"] in (0, 2), reply
                    stats["finished_before_the_kill_point"] += 1
                    continue
                killed += 1
                stats["kills"] += 1
                ops[reply["op"]] += 1
                stats[f"killed_{command['kind']}"] += 1
            if not killed:
                continue
            stats["double_kills"] += killed == 2
            after = _check_after_kill(root, committed, floor, ran, stats)
            code, report = verify(cli)
            assert report["chain"] is None
            assert all(f["kind"] == "crash" for f in report["findings"]), report["findings"]
            _, checked = check(cli)
            e010 = [f for f in checked["findings"] if f["rule"] == "E010"]
            if code:
                stats["inconsistent_after_kill"] += 1
                assert e010, "check did not name the interrupted write"
                stats["named_by_check"] += 1
            for env in ENVS:  # readers see a whole version meanwhile
                assert cli("show", env, "--json").exit_code == 0
            if rng.random() < 0.5:
                result = cli("repair", "--json")
                assert result.exit_code == 0, result.output
                stats["repaired"] += 1
            else:  # the next writer rolls the interrupted change forward under the lock
                n += 1
                result = cli("set", "test", "CRASH_N", str(n), "--type", "int")
                assert result.exit_code == 0, result.output
                stats["rolled_forward_by_next_writer"] += 1
                code, report = verify(cli)
                # a version file written before its writer died uncommitted stays until that environment's
                # next version overwrites it: listing the folder on every write would cost more with each version
                orphans = [f for f in report["findings"] if "uncommitted version files" in f["message"]]
                assert report["findings"] == orphans and all(f["kind"] == "crash" for f in orphans), report
                if orphans:
                    stats["orphans_left_for_repair"] += 1
                    assert cli("repair").exit_code == 0
            code, report = verify(cli)
            assert (code, report["findings"]) == (0, []), report
            assert ledger_lines(root)[: len(after)] == after, "a committed entry was lost on the way back"
            _check_after_kill(root, ledger_lines(root), floor, 0, Counter())
        # finally: repair leaves no temp file behind
        assert cli("repair").exit_code == 0
        assert not list((root / "environments").rglob(".*.tmp"))
    finally:
        driver.close()
    assert stats["kills"] >= KILLS
    figures.add("crash", seed=str(SEED), kills=stats["kills"], corruptions=0, committed_entries_lost=0,
                double_kills=stats["double_kills"], inconsistent_after_kill=stats["inconsistent_after_kill"],
                named_by_check=stats["named_by_check"], torn_ledger_lines=stats["torn_ledger_lines"],
                profiles_behind_ledger=stats["profiles_behind_ledger"], temp_files_left=stats["temp_files_left"],
                repaired=stats["repaired"], rolled_forward=stats["rolled_forward_by_next_writer"],
                orphans_left_for_repair=stats["orphans_left_for_repair"],
                ledger_entries=len(ledger_lines(root)), kill_points=dict(sorted(ops.items())),
                killed_commands={k.removeprefix("killed_"): v for k, v in sorted(stats.items()) if k.startswith("killed_")})
