"""The documentation site builds with `mkdocs build --strict`: no broken link, anchor or nav entry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_site_builds_strict(tmp_path: Path) -> None:
    """Every page in the nav exists, every page is in the nav, every internal link and anchor resolves."""
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install mkdocs)")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
