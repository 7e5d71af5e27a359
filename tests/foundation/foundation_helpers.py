"""Helpers shared by the foundation tests (imported by the test modules, not collected)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def assert_refused(result: Any, *words: str) -> str:
    """Exit 2, exactly one ``envman: error:`` line on stderr, no traceback, mentioning each of ``words``."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("envman: error: "), lines[0]
    assert "internal error" not in lines[0], lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run the block under ``mask`` (inherited by subprocesses started inside it)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def write_env(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path
