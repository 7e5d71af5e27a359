"""Files holding plaintext are created 0600 whatever the umask (022, and the careless 000)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from foundation_helpers import mode

from envman.fsutil import write_private
from envman.keys import read_keys_file
from tests.helpers import umask


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_keys_file_written_by_init_is_private(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, mask: int) -> None:
    """`envman init --keys-file` and the default .envman-keys (no keychain) are 0600, and readable by envman."""
    for name, extra in (("explicit", ["--keys-file", str(tmp_path / "explicit.keys")]), ("default", [])):
        root = tmp_path / name
        root.mkdir()
        monkeypatch.chdir(root)
        with umask(mask):
            assert cli("init", *extra).exit_code == 0
        keys = tmp_path / "explicit.keys" if extra else root / ".envman-keys"
        assert mode(keys) == 0o600, (name, oct(mode(keys)))
        assert len(read_keys_file(keys)) == 3


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_keys_file_written_by_the_installed_executable_is_private(tmp_path: Path, envman: Any, mask: int) -> None:
    """The same holds for a real `envman init` process inheriting the umask."""
    with umask(mask):
        assert envman("init", "--keys-file", str(tmp_path / "k"), cwd=tmp_path).exit_code == 0
    assert mode(tmp_path / "k") == 0o600


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_write_private_is_0600_new_or_replaced(tmp_path: Path, mask: int) -> None:
    """write_private creates 0600 files and narrows a file that was readable by others when it replaces it."""
    path = tmp_path / "plain.txt"
    path.write_text("old")
    path.chmod(0o666)
    with umask(mask):
        write_private(path, b"secret")
        write_private(tmp_path / "new.txt", b"secret")
    assert mode(path) == 0o600 and mode(tmp_path / "new.txt") == 0o600


def test_adding_an_environment_keeps_the_keys_file_private(project: Any, cli: Any) -> None:
    """Rewriting the keys file for a new environment keeps 0600 (it is replaced, not appended to)."""
    with umask(0):
        assert cli("init", "--env", "qa", "--keys-file", str(project.keys_file)).exit_code == 0
    assert mode(project.keys_file) == 0o600
    assert "ENVMAN_PRIVATE_KEY_QA" in read_keys_file(project.keys_file)

