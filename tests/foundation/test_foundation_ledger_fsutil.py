"""ledger.py and fsutil.py: the hash chain, reading it backwards, atomic and durable writes, the lock."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from foundation_helpers import mode
from hypothesis import given, settings
from hypothesis import strategies as st

from envman.crypto import sha256_hex
from envman.errors import StoreError, TamperError
from envman.fsutil import append_durable, atomic_write, exclusive_lock, write_private
from envman.ledger import GENESIS, Entry, check_chain, decode, encode, iter_lines_reversed
from tests.helpers import umask


def _chain(n: int) -> list[bytes]:
    """n valid ledger lines (without newline)."""
    lines, prev = [], GENESIS
    for seq in range(1, n + 1):
        line, digest = encode(Entry(seq=seq, time="2026-01-01T00:00:00Z", actor="t", event="set", env="test",
                                    version=seq, changed=("A",), prev=prev))
        lines.append(line[:-1])
        prev = digest
    return lines


def test_encode_decode_round_trip() -> None:
    """An entry survives encoding; its hash is the SHA-256 of its exact line; `prev` comes first."""
    entry = Entry(seq=1, time="t", actor="ä actor", event="verify", env="production", version=3, changed=("A", "B"),
                  keys={"K": "sk-…3333"}, profile="p" * 64, detail={"ok": True})
    line, digest = encode(entry)
    assert line.endswith(b"\n") and line.startswith(b'{"prev":"' + GENESIS.encode() + b'"')
    assert line.isascii() and digest == sha256_hex(line[:-1])
    back = decode(line[:-1])
    assert back == entry._replace(hash=digest)
    assert back.marks_good and not back._replace(detail={"ok": False}).marks_good
    assert back._replace(event="mark-good", detail={}).marks_good


@pytest.mark.parametrize(
    "line",
    [b"not json", b"[1,2]", b'{"seq":1}', b'{"prev":"' + b"0" * 64 + b'","seq":"1"}',
     encode(Entry(seq=1, time="t", actor="a", event="e"))[0][:-1].replace(b'"changed":[]', b'"changed":[1]')],
)
def test_decode_refuses_anything_but_a_well_typed_entry(line: bytes) -> None:
    """Garbage or mistyped fields are a TamperError, never a KeyError or TypeError."""
    with pytest.raises(TamperError):
        decode(line)


def test_check_chain_accepts_a_valid_chain() -> None:
    """A valid chain reports its length and the hash of its last line."""
    lines = _chain(5)
    assert check_chain(lines) == (5, sha256_hex(lines[-1]), None)
    assert check_chain([]) == (0, GENESIS, None)


def test_check_chain_names_the_first_break() -> None:
    """An edited, removed, reordered or foreign line is reported at the first line that no longer follows."""
    lines = _chain(6)
    edited = [*lines[:2], lines[2].replace(b'"actor":"t"', b'"actor":"x"'), *lines[3:]]
    count, _, problem = check_chain(edited)
    assert count == 3 and problem is not None and problem.line == 4 and problem.seq == 4
    count, _, problem = check_chain([*lines[:2], *lines[3:]])
    assert count == 2 and problem is not None and problem.line == 3
    count, _, problem = check_chain([lines[1], lines[0]])
    assert count == 0 and problem is not None and problem.line == 1
    count, _, problem = check_chain([*lines[:3], b"garbage", *lines[3:]])
    assert problem is not None and problem.line == 4 and "not a ledger entry" in problem.message


@settings(deadline=None)
@given(
    lines=st.lists(st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b), max_size=30),
    block=st.integers(1, 64),
    torn=st.binary(max_size=10).filter(lambda b: b"\n" not in b),
)
def test_iter_lines_reversed_matches_forward_reading(lines: list[bytes], block: int, torn: bytes) -> None:
    """Reading backwards in blocks of any size yields exactly the complete lines, last first."""
    data = b"".join(line + b"\n" for line in lines)
    fh = io.BytesIO(data + torn)
    assert list(iter_lines_reversed(fh, len(data), block=block)) == lines[::-1]


# -- fsutil -------------------------------------------------------------------------

@pytest.mark.parametrize("mask", [0o022, 0o000, 0o077])
def test_atomic_write_modes_do_not_depend_on_umask(tmp_path: Path, mask: int) -> None:
    """Written files get exactly the requested mode: private files are 0600 whatever the umask."""
    with umask(mask):
        atomic_write(tmp_path / "public", b"x")
        write_private(tmp_path / "private", b"secret")
    assert mode(tmp_path / "private") == 0o600
    assert mode(tmp_path / "public") == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["private", "public"]  # no temp file left


def test_write_private_never_exposes_the_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temp file behind a private write is already 0600 before it is renamed into place."""
    seen: list[int] = []
    real_replace = os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        seen.append(os.stat(src).st_mode & 0o777)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    with umask(0):
        write_private(tmp_path / "keys", b"secret")
    assert seen == [0o600]


def test_atomic_write_replaces_whole_files(tmp_path: Path) -> None:
    """A rewrite replaces the content entirely (shorter data leaves no tail of the old)."""
    path = tmp_path / "f"
    atomic_write(path, b"long old content")
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"


def test_write_failure_is_a_store_error_and_keeps_old_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing write (disk full) raises StoreError saying nothing changed; the old file and no temp remain."""
    import errno

    path = tmp_path / "f"
    atomic_write(path, b"old")

    def full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(StoreError, match="disk full"):
        atomic_write(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f"]


def test_write_into_missing_folder_is_a_store_error(tmp_path: Path) -> None:
    """A write whose folder vanished is a clear StoreError, not an OSError traceback."""
    with pytest.raises(StoreError, match="cannot write"):
        atomic_write(tmp_path / "gone" / "f", b"x")


def test_append_durable_returns_offsets(tmp_path: Path) -> None:
    """Appends return the size before the append, so the caller can detect a concurrent writer."""
    path = tmp_path / "ledger"
    assert append_durable(path, b"one\n") == 0
    assert append_durable(path, b"two\n") == 4
    assert path.read_bytes() == b"one\ntwo\n"


def test_exclusive_lock_excludes_other_processes(tmp_path: Path) -> None:
    """While the lock is held, another process cannot take it; afterwards it can."""
    lock = tmp_path / ".lock"
    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)\n"
    )
    with exclusive_lock(lock):
        held = subprocess.run([sys.executable, "-c", probe, str(lock)], check=False).returncode
    free = subprocess.run([sys.executable, "-c", probe, str(lock)], check=False).returncode
    assert (held, free) == (3, 0)
