"""Where private keys come from: ``ENVMAN_PRIVATE_KEY_<ENV>``, a 0600 keys file, the OS keychain.

keyring is imported only here and only when a plaintext value is needed, so
commands that work on masked data never pay for it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from envman.errors import KeyUnavailable, StoreError, UsageError

KEYRING_SERVICE = "envman"
KEYS_FILE_VAR = "ENVMAN_KEYS_FILE"
KEYCHAIN = "the OS keychain"
# the keychain entry beside an environment's key that holds its retired keys
_RETIRED = "#retired"
# Backends that store secrets unencrypted on disk or store nothing at all.
_REFUSED_BACKENDS = ("keyrings.alt", "PlaintextKeyring", "fail.Keyring", "null.Keyring", "chainer.ChainerBackend")


def env_var_name(env: str) -> str:
    """``ENVMAN_PRIVATE_KEY_<ENV>``: upper-cased, '-' becomes '_'."""
    return "ENVMAN_PRIVATE_KEY_" + env.upper().replace("-", "_")


def retired_var_name(env: str) -> str:
    """``ENVMAN_RETIRED_KEYS_<ENV>``: earlier private keys of ``env``, comma-separated."""
    return "ENVMAN_RETIRED_KEYS_" + env.upper().replace("-", "_")


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
            return str(found), KEYCHAIN
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


def _split(text: str) -> list[str]:
    return [key for key in text.replace(",", " ").split() if key]


def retired_keys(project: str, env: str) -> list[str]:
    """The earlier private keys of ``env`` (replaced by `envman rekey`), from every source that has some.

    Read only when the current key does not open a value: a version written
    before the key was replaced, or while a rekey was being written.
    """
    found = _split(os.environ.get(retired_var_name(env), ""))
    keys_file = os.environ.get(KEYS_FILE_VAR)
    if keys_file:
        found += _split(read_keys_file(Path(keys_file)).get(retired_var_name(env), ""))
    backend = _usable_keyring()
    if backend is not None:
        try:
            stored = backend.get_password(KEYRING_SERVICE, keyring_user(project, env) + _RETIRED)
        except Exception:  # noqa: BLE001 - a failing keychain holds no keys
            stored = None
        found += _split(stored or "")
    return list(dict.fromkeys(found))


def write_keys_file(path: Path, keys: dict[str, str]) -> None:
    """Write ``NAME=key`` lines to a keys file, mode 0600 (replacing it atomically)."""
    from envman.fsutil import write_private

    path = Path(os.path.realpath(path))  # a symlink (to a vault mount, say) keeps pointing at the file it names
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    body = "# envman private keys: keep this file secret (mode 0600), never commit it.\n"
    body += "".join(f"{name}={value}\n" for name, value in keys.items() if value)
    write_private(path, body.encode("ascii"))


def save_keys(project: str, env: str, place: str, *, current: str | None = None,
              add: tuple[str, ...] | list[str] = (), drop: tuple[str, ...] | list[str] = ()) -> None:
    """In ``place`` (KEYCHAIN or a keys file): make ``current`` the key of ``env`` if given; add and drop retired keys."""
    def retired(before: str) -> str:
        return ",".join(k for k in dict.fromkeys([*_split(before), *add]) if k not in drop)

    if place != KEYCHAIN:
        path = Path(place)
        try:
            keys = read_keys_file(path) if path.exists() else {}
        except KeyUnavailable as exc:
            raise StoreError(f"cannot write the keys of {env!r}: {exc.message}", exc.hint) from None
        keys[retired_var_name(env)] = retired(keys.get(retired_var_name(env), ""))
        if current is not None:
            keys[env_var_name(env)] = current
        try:
            write_keys_file(path, keys)
        except OSError as exc:
            raise StoreError(f"cannot write the keys of {env!r} to {path}: {exc.strerror}",
                             "give --keys-file PATH in a folder you can write") from None
        return
    user = keyring_user(project, env)
    backend = _usable_keyring()
    try:
        if backend is None:
            raise RuntimeError("no usable keychain")
        backend.set_password(KEYRING_SERVICE, user + _RETIRED, retired(backend.get_password(KEYRING_SERVICE, user + _RETIRED) or ""))
        if current is not None:
            backend.set_password(KEYRING_SERVICE, user, current)
    except Exception:  # noqa: BLE001 - any keychain failure: say where else the keys can go
        raise StoreError(f"cannot store the keys of {env!r} in the OS keychain", "give --keys-file PATH to keep them in a file (mode 0600)") from None
