"""Where private keys come from: ``ENVMAN_PRIVATE_KEY_<ENV>``, a 0600 keys file, the OS keychain.

keyring is imported only here and only when a plaintext value is needed, so
commands that work on masked data never pay for it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from envman.errors import KeyUnavailable, UsageError

KEYRING_SERVICE = "envman"
KEYS_FILE_VAR = "ENVMAN_KEYS_FILE"
# Backends that store secrets unencrypted on disk or store nothing at all.
_REFUSED_BACKENDS = ("keyrings.alt", "PlaintextKeyring", "fail.Keyring", "null.Keyring", "chainer.ChainerBackend")


def env_var_name(env: str) -> str:
    """``ENVMAN_PRIVATE_KEY_<ENV>``: upper-cased, '-' becomes '_'."""
    return "ENVMAN_PRIVATE_KEY_" + env.upper().replace("-", "_")


def keyring_user(project: str, env: str) -> str:
    return f"{project}/{env}"


def _how(env: str) -> str:
    return f"set {env_var_name(env)} (CI, servers) or store the key in the OS keychain (service {KEYRING_SERVICE!r})"


def read_keys_file(path: Path) -> dict[str, str]:
    """Parse a keys file of ``ENVMAN_PRIVATE_KEY_X=...`` lines; refuse one readable by others."""
    try:
        st = path.stat()
    except OSError:
        raise KeyUnavailable(f"{KEYS_FILE_VAR} points at {path}, which does not exist", "fix the path or unset the variable") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyUnavailable(f"keys file {path} is readable by other users", f"run `chmod 600 {path}`")
    keys: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[7:]
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        keys[name.strip()] = value.strip().strip("'\"")
    return keys


def _refused(backend: object) -> bool:
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    return any(bad in name for bad in _REFUSED_BACKENDS)


def _usable_keyring() -> Any:
    """The keyring backend, or None when there is none or only a plaintext one."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        # With several backends installed (e.g. the OS keychain and keyrings.alt) keyring
        # picks a chainer over all of them: use the best of those that are safe.
        candidates = list(getattr(backend, "backends", ())) if isinstance(backend, ChainerBackend) else [backend]
    except Exception:  # noqa: BLE001 - broken keyring configuration must not crash envman
        return None
    return next((b for b in candidates if not _refused(b)), None)


def private_key(project: str, env: str) -> str:
    """The private key text for ``env``, from the first source that has it."""
    return locate_private_key(project, env)[0]


def locate_private_key(project: str, env: str) -> tuple[str, str]:
    """The private key text for ``env`` and where it was found (to name it in messages)."""
    name = env_var_name(env)
    value = os.environ.get(name)
    if value:
        return value, name
    keys_file = os.environ.get(KEYS_FILE_VAR)
    if keys_file:
        found = read_keys_file(Path(keys_file)).get(name)
        if found:
            return found, f"{name} in {keys_file}"
    backend = _usable_keyring()
    if backend is not None:
        try:
            found = backend.get_password(KEYRING_SERVICE, keyring_user(project, env))
        except Exception:  # noqa: BLE001 - a locked or failing keychain is a missing key, not a crash
            found = None
        if found:
            return str(found), "the OS keychain"
        raise KeyUnavailable(f"no private key for {env!r} in the keychain or environment", _how(env))
    raise KeyUnavailable(f"no private key for {env!r}, and no usable OS keychain", _how(env))


def store_in_keyring(project: str, env: str, private: str) -> bool:
    """Store ``private`` in the OS keychain; False when no safe keychain is available."""
    backend = _usable_keyring()
    if backend is None:
        return False
    try:
        existing = backend.get_password(KEYRING_SERVICE, keyring_user(project, env))
    except Exception:  # noqa: BLE001 - a failing keychain: fall back to the keys file
        return False
    if existing and existing != private:
        # replacing it would make that project's secrets unreadable for good
        raise UsageError(
            f"the OS keychain already holds a private key for project {project!r}, environment {env!r}",
            "give this project another id with `envman init --project-id NAME`, or delete the old key from the keychain",
        )
    try:
        backend.set_password(KEYRING_SERVICE, keyring_user(project, env), private)
    except Exception:  # noqa: BLE001 - fall back to the keys file
        return False
    return True
