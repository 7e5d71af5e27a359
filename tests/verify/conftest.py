"""Fixtures for `envman verify`: the seeded project pointed at a fake OpenAI-compatible API on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # so `tests.fake_openai` imports without packaging tests/
    sys.path.insert(0, str(_ROOT))

from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.helpers import local_network_only  # noqa: E402
from tests.verify.live_api import API_KEY, Live  # noqa: E402


@pytest.fixture(autouse=True)
def _local_network_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, and nothing in this process resolves or connects beyond 127.0.0.1."""
    local_network_only(monkeypatch)


@pytest.fixture
def fake_api() -> Iterator[FakeOpenAI]:
    """A running fake API offering deepseek-chat, accepting only API_KEY."""
    with FakeOpenAI(key=API_KEY) as api:
        yield api


@pytest.fixture
def live(seeded: Any, fake_api: FakeOpenAI) -> Live:
    """The seeded project with staging's base URL and key pointing at the fake API (timeout 2 s)."""
    env = Live(seeded, fake_api)
    env.set("staging", "ALLTKN_BASE_URL", fake_api.base_url)
    env.set("staging", "ALLTKN_API_KEY", API_KEY)
    env.set("staging", "AI_REQUEST_TIMEOUT_MS", "2000")
    fake_api.requests.clear()
    return env
