"""settings.py / envman.load(): typed values, decrypted secrets, process-env overrides, masking, light imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import envman
from envman.errors import InvalidValue, KeyUnavailable, UsageError
from envman.settings import RevealedSecret

PROD_KEY = "sk-prod-cccccccccccccccc3333"


def test_values_are_typed_by_the_schema(seeded) -> None:  # type: ignore[no-untyped-def]
    """duration_ms is an int, url/model/log_level are str, secrets are decrypted; version info is exposed."""
    s = envman.load("production")
    assert s.AI_REQUEST_TIMEOUT_MS == 60000 and type(s.AI_REQUEST_TIMEOUT_MS) is int
    assert s.ALLTKN_BASE_URL == "https://api.alltkn.com/api/v1" and type(s.ALLTKN_BASE_URL) is str
    assert s.ALLTKN_DEFAULT_MODEL == "deepseek-chat" and s.AI_LOG_LEVEL == "info"
    assert s.ALLTKN_API_KEY == PROD_KEY and isinstance(s.ALLTKN_API_KEY, str)
    assert s.ENVMAN_ENV == "production" and s.ENVMAN_VERSION == 1
    assert s.ENVMAN_FINGERPRINT.startswith("production@1:")


def test_bool_and_int_types(seeded) -> None:  # type: ignore[no-untyped-def]
    """bool and int variables come back as Python bool and int."""
    from envman.ops import set_var

    p = seeded.open()
    set_var(p, "test", "FEATURE_X", "yes", new_type="bool")
    set_var(p, "test", "WORKERS", "-3", new_type="int")
    s = envman.load("test")
    assert s.FEATURE_X is True and s.WORKERS == -3


def test_envman_env_is_the_default(seeded, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """load() without a name reads ENVMAN_ENV; with neither it is a UsageError."""
    with pytest.raises(UsageError, match="ENVMAN_ENV"):
        envman.load()
    monkeypatch.setenv("ENVMAN_ENV", "staging")
    assert envman.load().ALLTKN_API_KEY == "sk-stag-bbbbbbbbbbbbbbbb2222"


def test_process_environment_overrides_and_is_validated(seeded, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A variable set in the process environment wins (typed); an invalid override is refused, not used."""
    monkeypatch.setenv("AI_REQUEST_TIMEOUT_MS", "1500")
    monkeypatch.setenv("ALLTKN_API_KEY", "sk-override-0000000000000000")
    s = envman.load("production")
    assert s.AI_REQUEST_TIMEOUT_MS == 1500 and s.ALLTKN_API_KEY == "sk-override-0000000000000000"
    monkeypatch.setenv("AI_REQUEST_TIMEOUT_MS", "soon")
    with pytest.raises(InvalidValue, match="process environment: AI_REQUEST_TIMEOUT_MS") as info:
        envman.load("production")
    assert "soon" not in str(info.value)
    assert envman.load("production", environ={"AI_REQUEST_TIMEOUT_MS": "7"}).AI_REQUEST_TIMEOUT_MS == 7


def test_unknown_environment_and_missing_key(seeded, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """An unknown environment and a missing private key are EnvmanErrors with clear messages."""
    with pytest.raises(envman.EnvmanError, match="unknown environment"):
        envman.load("qa")
    monkeypatch.delenv("ENVMAN_KEYS_FILE")
    with pytest.raises(KeyUnavailable, match="ENVMAN_PRIVATE_KEY_PRODUCTION"):
        envman.load("production")


def test_load_from_another_folder(seeded, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """root= points load() at a project when the process runs elsewhere."""
    monkeypatch.chdir(tmp_path)
    assert envman.load("test", root=seeded.root).AI_LOG_LEVEL == "debug"


def test_repr_and_str_never_show_a_secret(seeded) -> None:  # type: ignore[no-untyped-def]
    """repr/str of the settings, of as_dict() and of a secret value show at most the mask."""
    s = envman.load("production")
    key = s.ALLTKN_API_KEY
    logged = "%s" % key  # noqa: UP031 - %-formatting is what logging does
    for text in (repr(s), str(s), repr(s.as_dict()), str(s.as_dict()), repr(key), str(key), logged,
                 repr(s.get("ALLTKN_API_KEY")), str(s["ALLTKN_API_KEY"])):
        assert PROD_KEY not in text and "cccccccc" not in text
    assert str(key) == "sk-…3333"


def test_a_secret_still_works_as_a_string(seeded) -> None:  # type: ignore[no-untyped-def]
    """SDKs get the real value: comparison, concatenation, f-strings, encode(); reveal() gives a plain str."""
    key = envman.load("production").ALLTKN_API_KEY
    assert isinstance(key, RevealedSecret)
    assert key == PROD_KEY and "Bearer " + key == "Bearer " + PROD_KEY and f"Bearer {key}" == "Bearer " + PROD_KEY
    assert key.encode() == PROD_KEY.encode() and json.dumps(key) == json.dumps(PROD_KEY)
    assert key.reveal() == PROD_KEY and type(key.reveal()) is str


def test_import_envman_is_light() -> None:
    """`import envman` (in a fresh interpreter) loads none of dynaconf, keyring, httpx, tomlkit, cryptography, click."""
    code = "import json, sys, envman; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = {m.partition(".")[0] for m in json.loads(out)}
    heavy = {"dynaconf", "keyring", "httpx", "tomlkit", "cryptography", "click", "tomli_w", "dotenv", "hvac", "yaml"}
    assert not heavy & loaded, heavy & loaded
