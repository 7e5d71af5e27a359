"""The OS keychain through keyring: plaintext backends refused, a real (fake) keychain used end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from foundation_helpers import HERE, write_env

from envman.keys import KEYRING_SERVICE, _usable_keyring, keyring_user
from tests.helpers import assert_refused

PROD_KEY = "sk-prod-cccccccccccccccc3333"
DOTENV = f"ALLTKN_API_KEY={PROD_KEY}\nAI_LOG_LEVEL=info\n"
FAKE = "envman_test_keyring.MemoryKeyring"


def _plaintext_env(tmp_path: Path) -> dict[str, str]:
    return {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring", "XDG_DATA_HOME": str(tmp_path / "xdg")}


def test_plaintext_keyring_is_never_used(tmp_path: Path, envman: Any) -> None:
    """With keyrings.alt's PlaintextKeyring, init keeps keys out of it (0600 keys file instead) and a
    command needing a key refuses cleanly, naming ENVMAN_PRIVATE_KEY_<ENV> and the keychain."""
    pytest.importorskip("keyrings.alt")
    env = _plaintext_env(tmp_path)
    root = tmp_path / "app"
    root.mkdir()
    init = envman("init", cwd=root, env=env)
    assert init.exit_code == 0 and ".envman-keys" in init.stdout
    assert not (tmp_path / "xdg").exists()  # nothing was written to the plaintext keyring
    write_env(root / ".env", DOTENV)
    assert envman("import", ".env", "--env", "production", cwd=root, env=env).exit_code == 0
    assert envman("get", "production", "ALLTKN_API_KEY", cwd=root, env=env).stdout == "sk-…3333\n"  # no key needed
    refused = envman("get", "production", "ALLTKN_API_KEY", "--reveal", cwd=root, env=env)
    assert_refused(refused, "ENVMAN_PRIVATE_KEY_PRODUCTION", "keychain")
    assert PROD_KEY not in refused.output


def test_plaintext_keyring_holding_the_key_is_still_refused(project: Any, cli: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when the plaintext keyring has the right key, envman does not read it."""
    keyrings_alt = pytest.importorskip("keyrings.alt.file")
    import keyring.core

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    backend = keyrings_alt.PlaintextKeyring()
    backend.set_password(KEYRING_SERVICE, keyring_user("demo-app", "production"), project.private_key("production"))
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    assert _usable_keyring() is None
    write_env(project.root / ".env", DOTENV)
    assert cli("import", ".env", "--env", "production").exit_code == 0
    assert_refused(cli("get", "production", "ALLTKN_API_KEY", "--reveal", env={"ENVMAN_KEYS_FILE": None}),
                   "no usable OS keychain", "ENVMAN_PRIVATE_KEY_PRODUCTION")


def test_init_stores_keys_in_the_keychain_in_process(tmp_path: Path, cli: Any, memory_keyring: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With a usable keychain, init writes no keys file; get --reveal reads the key back from the keychain."""
    root = tmp_path / "app"
    root.mkdir()
    monkeypatch.chdir(root)
    init = cli("init", "--project-id", "kc", "--json")
    assert init.exit_code == 0 and '"production": "keychain"' in init.stdout
    assert not (root / ".envman-keys").exists() and not (root / ".gitignore").exists()
    assert memory_keyring.get_password(KEYRING_SERVICE, "kc/production").startswith("envman-sk1:")
    write_env(root / ".env", DOTENV)
    assert cli("import", ".env", "--env", "production").exit_code == 0
    assert cli("get", "production", "ALLTKN_API_KEY", "--reveal").stdout == PROD_KEY + "\n"


def test_keychain_through_the_installed_executable(tmp_path: Path, envman: Any) -> None:
    """PYTHON_KEYRING_BACKEND selects the fake keychain in real processes: init stores keys there, --reveal works,
    and a second project with the same id cannot overwrite them."""
    env = {"PYTHONPATH": str(HERE), "PYTHON_KEYRING_BACKEND": FAKE, "ENVMAN_TEST_KEYRING_FILE": str(tmp_path / "kc.json")}
    root = tmp_path / "app"
    root.mkdir()
    init = envman("init", "--project-id", "kc", cwd=root, env=env)
    assert init.exit_code == 0 and "stored in the OS keychain" in init.stdout, init.output
    assert not (root / ".envman-keys").exists()
    write_env(root / ".env", DOTENV)
    assert envman("import", ".env", "--env", "production", cwd=root, env=env).exit_code == 0
    revealed = envman("get", "production", "ALLTKN_API_KEY", "--reveal", cwd=root, env=env)
    assert revealed.stdout == PROD_KEY + "\n", revealed.output
    other = tmp_path / "other"
    other.mkdir()
    keychain = (tmp_path / "kc.json").read_bytes()
    assert_refused(envman("init", "--project-id", "kc", cwd=other, env=env), "already holds a private key", "--project-id")
    assert (tmp_path / "kc.json").read_bytes() == keychain and not (other / "envman.toml").exists()


def test_a_chainer_over_several_backends_uses_the_safe_one(memory_keyring: Any, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    """With the OS keychain and keyrings.alt both installed keyring picks a chainer: envman uses its safe backend."""
    keyrings_alt = pytest.importorskip("keyrings.alt.file")
    import keyring.core
    from keyring.backends.chainer import ChainerBackend

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    plaintext = keyrings_alt.PlaintextKeyring()

    class Chain(ChainerBackend):
        backends = (plaintext, memory_keyring)

    monkeypatch.setattr(keyring.core, "_keyring_backend", Chain())
    assert _usable_keyring() is memory_keyring

    class OnlyPlaintext(ChainerBackend):
        backends = (plaintext,)

    monkeypatch.setattr(keyring.core, "_keyring_backend", OnlyPlaintext())
    assert _usable_keyring() is None


def test_rekey_keeps_the_new_key_and_the_retired_one_in_the_keychain(tmp_path: Path, cli: Any, memory_keyring: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A key found in the keychain is replaced there; the old one goes to the environment's `#retired` entry and still opens
    the versions written before."""
    root = tmp_path / "app"
    root.mkdir()
    monkeypatch.chdir(root)
    assert cli("init", "--project-id", "kc").exit_code == 0
    write_env(root / ".env", DOTENV)
    assert cli("import", ".env", "--env", "production").exit_code == 0
    old = memory_keyring.get_password(KEYRING_SERVICE, "kc/production")
    done = cli("rekey", "production", "--yes")
    assert done.exit_code == 0 and "new private key kept in the OS keychain" in done.stdout, done.output
    new = memory_keyring.get_password(KEYRING_SERVICE, "kc/production")
    assert new.startswith("envman-sk1:") and new != old
    assert memory_keyring.get_password(KEYRING_SERVICE, "kc/production#retired") == old
    assert not (root / ".envman-keys").exists()
    assert cli("get", "production", "ALLTKN_API_KEY", "--reveal").stdout == PROD_KEY + "\n"
    assert cli("get", "production", "ALLTKN_API_KEY", "--reveal", "--version", "1").stdout == PROD_KEY + "\n"
    memory_keyring.set_password(KEYRING_SERVICE, "kc/production#retired", "")
    assert_refused(cli("get", "production", "ALLTKN_API_KEY", "--reveal", "--version", "1"),
                   "sealed for an earlier key pair of production", "ENVMAN_RETIRED_KEYS_PRODUCTION")
