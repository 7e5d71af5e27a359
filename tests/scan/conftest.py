"""Fixtures for the scan tests: a counting fake fingerprint and throw-away git repositories."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # so `tests.scan.scanhelp` imports without packaging tests/
    sys.path.insert(0, str(_ROOT))

from tests.scan.scanhelp import CountingFingerprint, GitRepo  # noqa: E402


@pytest.fixture
def fp() -> CountingFingerprint:
    """A cheap stand-in for the slow salted fingerprint, counting its calls."""
    return CountingFingerprint()


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """An empty git repository with an identity, in a temporary folder."""
    return GitRepo.create(tmp_path / "repo")


@pytest.fixture(params=["aho-corasick", "regex"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with each matching engine: the automaton and the stdlib fallback."""
    monkeypatch.setenv("ENVMAN_SCAN_ENGINE", request.param)
    return str(request.param)
