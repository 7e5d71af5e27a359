"""Concurrent writers against the OpenBao store: check-and-set instead of a file lock, nothing lost.

The server is the OpenBao suite's own fixture (tests/openbao/conftest.py: a real
`bao server -dev` on 127.0.0.1), imported rather than duplicated.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from reliability_helpers import make_project, race_sets

from tests.helpers import seed_example

try:
    from tests.openbao.conftest import bao_env, bao_server, unique_prefix, use_openbao  # noqa: F401 - fixtures
except ImportError:  # pragma: no cover - the OpenBao suite belongs to another part of the tree
    bao_server = None

WRITERS = 8
SETS = int(os.environ.get("RELIABILITY_BAO_SETS", "100"))  # per writer; lower it for a quick local run


@pytest.mark.skipif(bao_server is None, reason="tests/openbao/conftest.py (the OpenBao server fixture) is not available")
def test_openbao_eight_processes_times_hundred_sets(bao_env, fast_root: Path, monkeypatch, cli, figures) -> None:  # type: ignore[no-untyped-def]
    """8 processes × 100 `set` on one environment stored in a real OpenBao: check-and-set turns every race into a
    refusal the writer re-runs, so all 800 land as versions, each its predecessor plus exactly one change; the chain verifies."""
    project = make_project(fast_root / uuid.uuid4().hex[:12], monkeypatch, seeded=False)
    use_openbao(project.root, bao_env.address, unique_prefix())
    seed_example(project.root)
    race = race_sets(project, cli, "staging", "RELY_B", WRITERS, SETS)  # also: serialised, chain verifies
    reported = race.reported
    attempts = sum(r["attempts"] for runs in race.results for r in runs)
    figures.add("openbao", writers=WRITERS, sets=WRITERS * SETS, versions_found=len(reported),
                lost=WRITERS * SETS - len(reported), conflicts_retried=attempts - len(reported))
