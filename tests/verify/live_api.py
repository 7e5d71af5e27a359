"""The project-plus-fake-API pair the verify tests work on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fake_openai import FakeOpenAI

API_KEY = "sk-verify-canary-2b7e151628aed2a6abf7158809cf4f3c"  # a canary: must never be printed or recorded


@dataclass
class Live:
    """A seeded project whose ``staging`` points at ``api`` with the key it accepts."""

    project: Any  # tests.helpers.ProjectDir
    api: FakeOpenAI
    key: str = API_KEY

    @property
    def root(self) -> Path:
        return Path(self.project.root)

    def set(self, env: str, var: str, value: str) -> None:
        from envman.ops import set_var

        set_var(self.project.open(), env, var, value)

    def ledger_text(self) -> str:
        return (self.root / "environments" / "ledger.jsonl").read_text()
