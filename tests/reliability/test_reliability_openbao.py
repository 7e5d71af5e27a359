"""Concurrent writers against the OpenBao store: check-and-set instead of a file lock, nothing lost.

The server is the OpenBao suite's own fixture (tests/openbao/conftest.py: a real
`bao server -dev` on 127.0.0.1), imported rather than duplicated.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from reliability_helpers import check_serialised_sets, make_project, run_writers, set_jobs, verify

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
    from envman.ops import Project, import_dotenv
    from tests.conftest import EXAMPLE_ENV

    project = make_project(fast_root / uuid.uuid4().hex[:12], monkeypatch, seeded=False)
    use_openbao(project.root, bao_env.address, unique_prefix())
    for env, text in EXAMPLE_ENV.items():
        path = project.root / f".env.{env}"
        path.write_text(text)
        import_dotenv(Project.open(project.root), path, env)
        path.unlink()
    p = project.open()
    base = p.store.current("staging").version
    entries = len(list(p.store.entries()))
    results = run_writers(project.root, set_jobs("staging", "RELY_B", WRITERS, SETS))
    p = project.open()
    reported = check_serialised_sets(p, "staging", base, results, "RELY_B")
    attempts = sum(r["attempts"] for runs in results for r in runs)
    code, report = verify(cli)
    assert (code, report["findings"], report["chain"]) == (0, [], None)
    assert report["entries"] == entries + WRITERS * SETS
    figures.add("openbao", writers=WRITERS, sets=WRITERS * SETS, versions_found=len(reported),
                lost=WRITERS * SETS - len(reported), conflicts_retried=attempts - len(reported))
