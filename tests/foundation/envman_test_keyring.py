"""A tiny keyring backend for tests, selected with
``PYTHON_KEYRING_BACKEND=envman_test_keyring.MemoryKeyring`` (this folder on PYTHONPATH).

Passwords live in a dict; when ``ENVMAN_TEST_KEYRING_FILE`` is set they are also
kept in that JSON file, so separate processes (subprocess runs of envman) share them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

FILE_VAR = "ENVMAN_TEST_KEYRING_FILE"


class MemoryKeyring(KeyringBackend):
    """An in-memory keychain (optionally persisted to a JSON file)."""

    # Below keyring's fail and null backends: used only when selected explicitly (PYTHON_KEYRING_BACKEND or
    # keyring.core), never picked by discovery or put in a ChainerBackend of a test that runs later in this process.
    priority = -2  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[str, str] = {}

    def _path(self) -> Path | None:
        name = os.environ.get(FILE_VAR)
        return Path(name) if name else None

    def _load(self) -> dict[str, str]:
        path = self._path()
        if path is not None and path.exists():
            self.passwords = json.loads(path.read_text())
        return self.passwords

    def _save(self) -> None:
        path = self._path()
        if path is not None:
            path.write_text(json.dumps(self.passwords))

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\x00{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._load()[f"{service}\x00{username}"] = password
        self._save()

    def delete_password(self, service: str, username: str) -> None:
        if self._load().pop(f"{service}\x00{username}", None) is None:
            raise PasswordDeleteError(username)
        self._save()
