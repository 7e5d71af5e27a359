"""Concurrent writers: every reported version exists with exactly its writer's change; nothing is lost.

Each writer is a separate process running envman's real entry point in a loop
(see workers.py); all start on the same signal. "No lost update" is checked in
its strongest form: version N+1 equals version N plus exactly the change its
writer reported, for every N — which is only true if the writes were serialised.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from typing import Any

import pytest
from reliability_helpers import DEADLOCK_TIMEOUT, check_serialised_sets, make_live, race_sets, run_writers, set_jobs, verify

WRITERS, SETS = 8, 100


def test_eight_processes_times_hundred_sets_on_one_environment(fast_project, cli, figures) -> None:  # type: ignore[no-untyped-def]
    """8 processes × 100 `set` on staging at once: 800 new versions, each its predecessor plus exactly one change,
    every writer's last value in the final profile, the schema holds each new variable once, the chain verifies."""
    race = race_sets(fast_project, cli, "staging", "RELY_W", WRITERS, SETS)  # also: serialised, chain verifies
    p, base, reported = race.project, race.base, race.reported
    final = p.store.current("staging")
    assert {k: v for k, v in final.values.items() if k.startswith("RELY_W")} == {f"RELY_W{w}": str(SETS - 1) for w in range(WRITERS)}
    assert sorted(n for n in p.manifest.variables if n.startswith("RELY_W")) == sorted(f"RELY_W{w}" for w in range(WRITERS))
    events = [e for e in p.store.entries() if e.seq > race.entries]
    assert [(e.env, e.version, e.changed) for e in events] == [
        ("staging", v, (f"RELY_W{reported[v][0]}",)) for v in range(base + 1, base + WRITERS * SETS + 1)]
    figures.add("concurrency", files_writers=WRITERS, files_sets=WRITERS * SETS, files_versions_found=len(reported),
                files_lost=WRITERS * SETS - len(reported), files_deadlocks=0)


def _mix_jobs(setters: int, sets: int, promoters: int, promotes: int, rotators: int, rotates: int) -> list[dict[str, Any]]:
    jobs = [{**job, "pause": 0.05} for job in set_jobs("staging", "RELY_S", setters, sets)]
    for _ in range(promoters):  # a promote overtaken by another writer is refused whole; its user re-runs it
        jobs.append({"commands": [{"argv": ["promote", "staging", "production", "--yes", "--force", "--json"]}] * promotes,
                     "retry": ["changed while the plan was being made"]})
    for r in range(rotators):
        jobs.append({"commands": [{"argv": ["rotate", "production", "ALLTKN_API_KEY", "--json"],
                                   "stdin": f"sk-rot{r}-{i:04d}-{uuid.uuid4().hex}\n"} for i in range(rotates)]})
    return jobs


def test_sets_promotes_and_rotations_at_once(fast_project, cli, figures) -> None:  # type: ignore[no-untyped-def]
    """4 setters (staging), 2 promoters (staging → production) and 2 rotators (production's key, value on stdin) at once:
    every command is applied or refused whole as a conflict and re-run, versions are contiguous, each promote copies
    the staging version it names and keeps production's current key, each rotation keeps the replaced key as rollback."""
    make_live(fast_project)
    p = fast_project.open()
    base = {env: p.store.current(env).version for env in ("staging", "production")}
    jobs = _mix_jobs(4, 50, 2, 25, 2, 25)
    results = run_writers(fast_project.root, jobs)
    p = fast_project.open()
    staging = check_serialised_sets(p, "staging", base["staging"], results[:4], "RELY_S")
    rotated: dict[int, str] = {}  # production version -> key written
    promoted: dict[int, int] = {}  # production version -> staging version it copies
    refused = nothing = 0
    for job, runs in zip(jobs[4:], results[4:], strict=True):
        for command, run in zip(job["commands"], runs, strict=True):
            if command["argv"][0] == "rotate":
                assert run["code"] == 0, run["stderr"]
                rotated[json.loads(run["stdout"])["version"]] = command["stdin"].strip()
                continue
            refused += run["attempts"] - 1  # check-and-set: each overtaken plan was refused whole, then re-run
            assert run["code"] == 0, run["stderr"]
            out = json.loads(run["stdout"])
            if not out["applied"]:
                nothing += 1  # production already had that staging version's values
                continue
            promoted[out["result"]["version"]] = out["plan"]["from"]["version"]
    assert not set(rotated) & set(promoted)
    assert sorted([*rotated, *promoted]) == list(range(base["production"] + 1, p.store.current("production").version + 1))
    previous = p.store.version("production", base["production"])
    for version in range(base["production"] + 1, p.store.current("production").version + 1):
        current = p.store.version("production", version)
        key = p.reveal("production", "ALLTKN_API_KEY", current.secrets["ALLTKN_API_KEY"]).reveal()
        if version in rotated:
            assert key == rotated[version]
            assert current.values == previous.values
            assert current.meta["ALLTKN_API_KEY"].rollback == previous.secrets["ALLTKN_API_KEY"]  # the replaced key, exactly
        else:
            source = p.store.version("staging", promoted[version])
            assert {k: v for k, v in current.values.items()} == {**previous.values, **source.values}
            assert current.secrets == previous.secrets  # a promote never reverts a concurrent rotation
        previous = current
    code, report = verify(cli)
    assert (code, report["findings"], report["chain"]) == (0, [], None)
    assert len(rotated) == 50
    figures.add("concurrency", mix_commands=sum(len(j["commands"]) for j in jobs), mix_sets=len(staging),
                mix_rotations=len(rotated), mix_promotes_applied=len(promoted), mix_promotes_refused=refused,
                mix_promotes_nothing=nothing, mix_lost=0)
    assert len(promoted) + nothing == 50


def _blocked_on_lock(pid: int) -> bool:
    """True when process ``pid`` waits for a file lock (a `->` line of /proc/locks)."""
    with open("/proc/locks", encoding="ascii") as fh:
        return any("->" in line and f" {pid} " in line for line in fh)


def test_integrity_check_waits_for_a_writer_between_its_files(seeded, monkeypatch, figures) -> None:  # type: ignore[no-untyped-def]
    """`ledger verify` started while a writer holds the lock between its ledger entry and its profile waits for it
    (shared lock), then reports a clean project — instead of calling the half-written change tampering."""

    import envman.store.files as files
    from tests.conftest import ENVMAN_BIN

    if not os.path.exists("/proc/locks"):
        pytest.skip("no /proc/locks to see the waiting reader")
    store = seeded.open().store
    real = files.atomic_write
    deferred: list[tuple[Any, bytes]] = []
    with store.transaction() as txn:  # this test is the writer holding the lock
        current = txn.current("staging")
        with monkeypatch.context() as mp:  # the version file and ledger entry are written, the profile and head wait
            mp.setattr(files, "atomic_write", lambda path, data, **kw: real(path, data, **kw) if "versions" in path.parts
                       else deferred.append((path, data)))
            txn.commit(current._replace(values={**current.values, "AI_LOG_LEVEL": "warn"}), "set", changed=["AI_LOG_LEVEL"],
                       keys={}, detail={})
        assert store._verify_integrity()[2], "the half-written state is what an unlocked reader would report"
        proc = subprocess.Popen([str(ENVMAN_BIN), "ledger", "verify", "--json"], cwd=seeded.root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None and not _blocked_on_lock(proc.pid):
            time.sleep(0.05)  # until the reader waits for the lock (or, without one, has already finished)
        for path, data in deferred:
            real(path, data)
    out, err = proc.communicate(timeout=DEADLOCK_TIMEOUT)
    assert proc.returncode == 0, out + err
    figures.add("concurrency", verify_during_write_false_alarms=0)
