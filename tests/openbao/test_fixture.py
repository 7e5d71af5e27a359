"""The test server fixture itself: a missing `bao` fails the suite loudly unless skipping is asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = "tests/openbao/test_store.py::test_secrets_never_reach_the_server_in_plaintext"


def _run_pytest(**env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ENVMAN_"))}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", PROBE],
                          capture_output=True, text=True, cwd=ROOT, env=full, timeout=300)


def test_missing_bao_binary_fails_and_says_how_to_install(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without a bao binary the OpenBao tests fail (not skip), naming `make test` as the way to install it."""
    out = _run_pytest(ENVMAN_BAO=str(tmp_path / "no-such-bao"))
    assert out.returncode == 1, out.stdout[-2000:]
    assert "the `bao` binary is missing: `make test` installs it" in out.stdout
    assert "1 error" in out.stdout or "1 failed" in out.stdout


def test_skipping_openbao_tests_must_be_explicit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """ENVMAN_SKIP_OPENBAO=1 turns the same situation into a skip."""
    out = _run_pytest(ENVMAN_BAO=str(tmp_path / "no-such-bao"), ENVMAN_SKIP_OPENBAO="1")
    assert out.returncode == 0 and "1 skipped" in out.stdout, out.stdout[-2000:]
