"""Fixtures for the probe tests: a fake OpenAI-compatible API, and a guard that
keeps every test on 127.0.0.1 (no DNS lookup, no connection anywhere else)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # so `tests.fake_openai` imports without packaging tests/
    sys.path.insert(0, str(_ROOT))

from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.helpers import local_network_only  # noqa: E402

_KEY = "sk-envman-canary-7f3c9a1e5b2d4f6a8c0e1d3b5a7c9e0f"


@pytest.fixture
def api_key() -> str:
    """The key the fake API accepts; a canary that must never be printed or logged."""
    return _KEY


@pytest.fixture
def fake_openai(api_key: str) -> Iterator[FakeOpenAI]:
    """A running fake API on 127.0.0.1 offering deepseek-chat and two other models."""
    with FakeOpenAI(key=api_key) as api:
        yield api


@pytest.fixture(autouse=True)
def _local_network_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything resolves or connects beyond 127.0.0.1."""
    local_network_only(monkeypatch)
