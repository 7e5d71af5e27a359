"""What each entry point imports: `envman get` pays only for what it uses; layers point one way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import source_imports

ENVMAN = Path(__file__).resolve().parents[2] / "envman"
FOUNDATION = ["errors", "schema", "names", "crypto", "keys", "manifest", "profile", "ledger", "fsutil", "ops",
              "settings", "store/__init__", "store/files"]
HEAVY = {"dynaconf", "keyring", "httpx", "tomlkit", "tomli_w", "dotenv", "hvac", "yaml", "rich"}

# Runs the real entry point in this interpreter, then reports the top-level packages it loaded.
PROBE = """
import json, sys
from envman.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stderr.write("MODULES=" + json.dumps(sorted({m.partition(".")[0] for m in sys.modules})) + "\\n")
sys.stderr.write(f"CODE={code}\\n")
"""


def _loaded_by(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[set[str], int, str]:
    import os

    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env={**os.environ, **(env or {})})
    fields = dict(line.split("=", 1) for line in proc.stderr.splitlines() if line.startswith(("MODULES=", "CODE=")))
    return set(json.loads(fields["MODULES"])), int(fields["CODE"]), proc.stdout


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["get", "production", "AI_LOG_LEVEL"], set()),
        (["get", "production", "ALLTKN_API_KEY"], set()),
        (["show", "production", "--json"], set()),
        (["status"], set()),
        (["history", "--limit", "2"], set()),
        (["ledger", "verify"], set()),
        (["set", "production", "AI_LOG_LEVEL", "debug"], {"tomli_w"}),
    ],
)
def test_commands_import_only_what_they_use(seeded: Any, args: list[str], allowed: set[str]) -> None:
    """get/show/status/history/verify load none of dynaconf, keyring, httpx, tomlkit, tomli_w, dotenv (set needs tomli_w)."""
    loaded, code, _ = _loaded_by(args, seeded.root)
    assert code == 0
    assert loaded & HEAVY == allowed, loaded & HEAVY
    assert "cryptography" not in loaded  # masked output needs no key material


def test_get_reveal_with_key_in_environment_skips_the_keychain(seeded: Any) -> None:
    """With ENVMAN_PRIVATE_KEY_<ENV> set, --reveal decrypts without importing keyring (or the other heavy modules)."""
    env = {"ENVMAN_KEYS_FILE": "", "ENVMAN_PRIVATE_KEY_PRODUCTION": seeded.private_key("production")}
    loaded, code, out = _loaded_by(["get", "production", "ALLTKN_API_KEY", "--reveal"], seeded.root, env)
    assert (code, out) == (0, "sk-prod-cccccccccccccccc3333\n")
    assert not loaded & HEAVY and "cryptography" in loaded


@pytest.mark.parametrize("module", FOUNDATION)
def test_foundation_modules_keep_their_layer(module: str) -> None:
    """No foundation module imports click or the CLI; heavy libraries are imported inside functions only."""
    for name, top_level in source_imports(ENVMAN / f"{module}.py"):
        root = name.partition(".")[0]
        assert root != "click" and not name.startswith("envman.cli"), (module, name)
        if root in HEAVY | {"cryptography"}:
            assert not top_level, f"{module} imports {name} at module level"
