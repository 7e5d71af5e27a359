"""Helpers shared by the foundation tests (imported by the test modules, not collected)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def write_env(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path
