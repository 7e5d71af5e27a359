"""Concurrent writers: real `envman set` processes racing on one environment lose nothing."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.conftest import ENVMAN_BIN

PROCESSES, SETS = 8, 25


def _spawn_sets(root: Path, keys: Path, commands: list[list[list[str]]]) -> list[list[subprocess.CompletedProcess[str]]]:
    """Run each list of commands sequentially, all lists at the same time (one worker per list)."""
    env = {**os.environ, "ENVMAN_KEYS_FILE": str(keys)}

    def worker(batch: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
        return [subprocess.run([ENVMAN_BIN, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)
                for args in batch]

    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(worker, commands))


def test_concurrent_sets_lose_no_update(seeded: Any, envman: Any) -> None:
    """8 processes × 25 `envman set` on one environment: versions 2..201 all exist, each holds its own set, chain valid."""
    root = seeded.root
    names = [f"WORKER_{p}" for p in range(PROCESSES)]
    path = root / "envman.toml"
    path.write_text(path.read_text() + "".join(f'\n[variables.{n}]\ntype = "string"\n' for n in names))
    batches = [[["set", "test", name, f"{name}-value-{j}"] for j in range(1, SETS + 1)] for name in names]
    results = _spawn_sets(root, seeded.keys_file, batches)
    failed = [(r.args, r.stderr) for batch in results for r in batch if r.returncode != 0]
    assert not failed, failed[:3]

    store = seeded.open().store
    total = PROCESSES * SETS
    assert store.head().versions["test"] == 1 + total
    versions = sorted(int(p.stem) for p in (root / "environments" / "versions" / "test").glob("*.toml"))
    assert versions == list(range(1, total + 2))

    sets = [e for e in store.entries() if e.event == "set"]
    assert len(sets) == total and sorted(e.version for e in sets) == list(range(2, total + 2))
    seen: set[tuple[str, str]] = set()
    for entry in sets:  # each version holds exactly the value its own `set` wrote, on top of the one before
        (name,) = entry.changed
        before, after = store.version("test", entry.version - 1), store.version("test", entry.version)
        assert after.content_hash() == entry.profile
        assert {k: v for k, v in after.values.items() if k != name} == {k: v for k, v in before.values.items() if k != name}
        seen.add((name, after.values[name]))
    assert seen == {(n, f"{n}-value-{j}") for n in names for j in range(1, SETS + 1)}
    final = store.current("test").values
    assert all(final[n] == f"{n}-value-{SETS}" for n in names)  # each worker's last write survives

    history = json.loads(envman("history", "test", "--event", "set", "--json", cwd=root).stdout)
    assert sorted(e["version"] for e in history) == list(range(2, total + 2))
    verify = envman("ledger", "verify", cwd=root)
    assert verify.exit_code == 0, verify.stdout


def test_concurrent_new_variables_all_reach_the_schema(seeded: Any) -> None:
    """Writers adding new variables at the same time (`set --type`) keep each other's envman.toml entries."""
    names = [f"NEW_{p}_{r}" for r in range(2) for p in range(6)]
    batches = [[["set", "staging", f"NEW_{p}_{r}", "v", "--type", "string"] for r in range(2)] for p in range(6)]
    results = _spawn_sets(seeded.root, seeded.keys_file, batches)
    assert all(r.returncode == 0 for batch in results for r in batch), [r.stderr for b in results for r in b if r.returncode]
    schema = tomllib.loads((seeded.root / "envman.toml").read_text())["variables"]
    assert set(names) <= set(schema)
    assert set(names) <= set(seeded.open().store.current("staging").values)
