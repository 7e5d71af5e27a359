"""`envman run`: values reach the child, precedence, exit codes and signals pass through, nothing on disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

PRINT_ENV = "import json, os; print(json.dumps({k: os.environ.get(k) for k in ['ALLTKN_API_KEY', 'AI_LOG_LEVEL', 'OPENAI_API_KEY']}))"


def test_values_reach_the_child(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """The child sees plain values and decrypted secrets in its environment."""
    r = envman("run", "production", "--", sys.executable, "-c", PRINT_ENV, cwd=seeded.root)
    assert r.exit_code == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["ALLTKN_API_KEY"] == "sk-prod-cccccccccccccccc3333"
    assert seen["AI_LOG_LEVEL"] == "info"


def test_process_environment_wins_unless_override(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """An existing process variable wins by default; --override makes the file value win."""
    env = {"AI_LOG_LEVEL": "warning"}
    keep = json.loads(envman("run", "production", "--", sys.executable, "-c", PRINT_ENV, cwd=seeded.root, env=env).stdout)
    assert keep["AI_LOG_LEVEL"] == "warning"
    over = json.loads(envman("run", "production", "--override", "--", sys.executable, "-c", PRINT_ENV, cwd=seeded.root, env=env).stdout)
    assert over["AI_LOG_LEVEL"] == "info"


def test_exit_code_passes_through(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """The child's exit code is envman's exit code (exec, not a wrapper)."""
    r = envman("run", "staging", "--", sys.executable, "-c", "raise SystemExit(7)", cwd=seeded.root)
    assert r.exit_code == 7


def test_signal_reaches_the_child(seeded) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM sent to envman's pid reaches the child, because envman replaced itself with it."""
    from tests.conftest import ENVMAN_BIN

    script = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(42)); print('ready', flush=True); time.sleep(30)"
    proc = subprocess.Popen([ENVMAN_BIN, "run", "staging", "--", sys.executable, "-c", script], cwd=seeded.root,
                            stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 42


def test_nothing_is_written_to_disk(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """Running a command writes no file holding the secret (only the ledger is untouched too)."""
    before = seeded.snapshot()
    r = envman("run", "production", "--", sys.executable, "-c", "pass", cwd=seeded.root)
    assert r.exit_code == 0
    assert seeded.snapshot() == before


def test_service_renames_reach_the_child(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """[exports.SERVICE] rename gives the child the names its SDK expects."""
    with (seeded.root / "envman.toml").open("a") as fh:
        fh.write('\n[exports.web]\nformat = "dotenv"\nrename = { OPENAI_API_KEY = "ALLTKN_API_KEY" }\n')
    seen = json.loads(envman("run", "production", "--service", "web", "--", sys.executable, "-c", PRINT_ENV, cwd=seeded.root).stdout)
    assert seen["OPENAI_API_KEY"] == "sk-prod-cccccccccccccccc3333"
    assert seen["ALLTKN_API_KEY"] is None


@pytest.mark.parametrize("args, message", [
    (["run", "production", "--", "no-such-command-xyz"], "command not found"),
    (["run", "nope", "--", "true"], "unknown environment"),
])
def test_run_errors_are_one_line(seeded, envman, args, message) -> None:  # type: ignore[no-untyped-def]
    """A missing command or environment is a one-line error with exit 2."""
    r = envman(*args, cwd=seeded.root)
    assert r.exit_code == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_missing_key_names_both_sources(seeded, envman) -> None:  # type: ignore[no-untyped-def]
    """Without the private key, run fails naming ENVMAN_PRIVATE_KEY_<ENV> and the keychain; --no-secrets works."""
    env = {k: v for k, v in os.environ.items() if k != "ENVMAN_KEYS_FILE"}
    from tests.conftest import ENVMAN_BIN

    r = subprocess.run([ENVMAN_BIN, "run", "production", "--", "true"], cwd=seeded.root, env=env, capture_output=True, text=True)
    assert r.returncode == 2
    assert "ENVMAN_PRIVATE_KEY_PRODUCTION" in r.stderr and "keychain" in r.stderr
    ok = subprocess.run([ENVMAN_BIN, "run", "production", "--no-secrets", "--", sys.executable, "-c", PRINT_ENV],
                        cwd=seeded.root, env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ALLTKN_API_KEY"] is None
