"""docs/quickstart.md runs as written: every ```console command, against the installed envman.

The page's conventions are in ``consoledoc``. The sandbox the page asks the
reader for (``SANDBOX_BASE_URL``, ``SANDBOX_API_KEY``) is a local
OpenAI-compatible server on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs import consoledoc

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "quickstart.md"
BIN = Path(sys.executable).parent

SANDBOX_API_KEY = "sk-test-5e1d7c3b9a2f4e6d8c0b"
NEW_PRODUCTION_KEY = "sk-prod-9a7c5e3b1d8f6a4c2e0b9d7f"


@pytest.fixture
def sandbox() -> Iterator[str]:
    """The base URL of a local OpenAI-compatible API that accepts SANDBOX_API_KEY."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI(key=SANDBOX_API_KEY) as api:
        yield api.base_url


def _environment(home: Path, sandbox: str) -> dict[str, str]:
    """A clean environment: the venv's envman first on PATH, a throw-away HOME, no keychain, no colour."""
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "ENVMAN_ACTOR": "alice",
        "SANDBOX_BASE_URL": sandbox,
        "SANDBOX_API_KEY": SANDBOX_API_KEY,
        "NEW_PRODUCTION_KEY": NEW_PRODUCTION_KEY,
    }


def test_page_uses_only_tested_blocks() -> None:
    """Every shell block of the quickstart is either run by the test or marked `not tested` with a reason."""
    untested = [b.line for b in consoledoc.blocks(PAGE.read_text(encoding="utf-8"))
                if b.lang in ("sh", "bash", "shell") and not b.skipped]
    assert not untested, f"docs/quickstart.md: shell blocks at lines {untested} are not run; use ```console or mark them"


def test_quickstart_runs_as_written(tmp_path: Path, sandbox: str) -> None:
    """Each command exits with the code the page states and prints what the page shows."""
    assert shutil.which("envman", path=str(BIN)), "envman is not installed in this virtual environment"
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    session = consoledoc.Session(tmp_path / ".state", work, _environment(home, sandbox))
    ran = 0
    for block in consoledoc.blocks(PAGE.read_text(encoding="utf-8")):
        if block.lang != "console" or block.skipped:
            continue
        for cmd in consoledoc.commands(block):
            code, output = session.run(cmd.text)
            actual = [line.rstrip() for line in output.rstrip("\n").splitlines()]
            if code != cmd.exit_code or not consoledoc.output_matches(cmd.expected, actual):
                pytest.fail(consoledoc.describe_mismatch("docs/quickstart.md", cmd, code, output), pytrace=False)
            ran += 1
    assert ran >= 20, f"only {ran} commands found in docs/quickstart.md"
    # the walkthrough leaves a consistent project behind
    assert (work / "shop-api" / "envman.toml").is_file()
    assert oct((work / "shop-api" / ".env.production").stat().st_mode & 0o777) == "0o600"
