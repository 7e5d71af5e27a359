"""Runs of blocks read again from an open file: a large profile's tables without holding its bytes.

Imported only when a file of ``envman.blocks.FILE_RUNS_FROM`` bytes or more is read.
"""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Iterator
from itertools import chain
from typing import Any

from envman.blocks import Run
from envman.errors import TamperError
from envman.records import Record

PIECE = 1 << 16  # bytes read at a time from a FileRun


class OpenFile:
    """A file kept open while tables read from it live, so they can read it again; a change in place is detected.

    envman replaces a file by renaming a new one over it: the open file keeps the content
    that was checked when it was read. Another program writing into the file itself
    changes its size or time, and reading from it then fails instead of mixing two contents.
    """

    def __init__(self, fd: int, where: str) -> None:
        self.fd, self.where = fd, where
        self._stamp = self._now()
        weakref.finalize(self, os.close, fd)

    def _now(self) -> tuple[int, int, int]:
        st = os.fstat(self.fd)
        return st.st_ino, st.st_size, st.st_mtime_ns

    def check(self) -> None:
        """TamperError when the file was changed in place since it was read."""
        if self._now() != self._stamp:
            raise TamperError(f"{self.where} was changed while envman was reading it",
                              "run the command again; change the file only with envman commands")

    def read(self, start: int, end: int) -> bytes:
        data = os.pread(self.fd, end - start, start)
        if len(data) != end - start:
            self.check()
            raise TamperError(f"{self.where} was cut short while envman was reading it", "run the command again")
        return data


class FileRun(Record):
    """A checked run of an open file, read again each time it is used: as runs of whole blocks, ``PIECE`` bytes or so at a time.

    Offers what a ``RunTable`` uses of a ``Run``; the file's bytes are never held whole.
    """

    file: OpenFile
    kind: bytes
    start: int
    end: int

    def pieces(self) -> Iterator[Run]:
        """The run as in-memory runs of whole blocks, in order."""
        file, kind, pos = self.file, self.kind, self.start
        file.check()
        size = PIECE
        while pos < self.end:
            stop = min(pos + size, self.end)
            data = file.read(pos - 1, stop)  # from the newline before the first block, as in the whole file
            end = len(data) if stop == self.end else _last_block_start(data, kind)
            if end <= 1:  # a block longer than the piece
                size *= 2
                continue
            yield Run(data, 1, end)
            pos += end - 1
            size = PIECE
        file.check()

    def blocks(self, block: bytes) -> Iterator[re.Match[bytes]]:
        return chain.from_iterable(piece.blocks(block) for piece in self.pieces())

    def groups(self, block: bytes) -> list[Any]:
        return [groups for piece in self.pieces() for groups in piece.groups(block)]

    def iter_groups(self, block: bytes) -> Iterator[tuple[bytes, ...]]:
        return chain.from_iterable(piece.iter_groups(block) for piece in self.pieces())

    def names(self, kind: bytes) -> list[bytes]:
        return [name for piece in self.pieces() for name in piece.names(kind)]

    def has(self, kind: bytes, name: str) -> bool:
        return any(piece.has(kind, name) for piece in self.pieces())

    def find_groups(self, kind: bytes, block: bytes, name: str) -> tuple[bytes, ...] | None:
        return next((g for piece in self.pieces() if (g := piece.find_groups(kind, block, name)) is not None), None)


def _last_block_start(data: bytes, kind: bytes) -> int:
    """Where the last ``[kind.NAME]`` header of ``data`` starts (after its newline), or 0.

    A sub-table's header (``[kind.NAME.x]``) lies inside a block.
    """
    at = len(data)
    while (at := data.rfind(b"\n[", 1, at)) > 0:
        close = data.find(b"]\n", at)  # none: the header is cut by the end of the piece and may be a sub-table's
        if close > 0 and data.startswith(b"[" + kind + b".", at + 1) and data.count(b".", at, close) == 1:
            return at + 1
    return 0
