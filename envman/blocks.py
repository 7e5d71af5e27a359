"""Runs of TOML tables as envman writes them, read with one regular expression.

A large profile is mostly secrets and their meta tables, a large schema mostly
``[variables.NAME]`` tables, and envman writes each the same way. A run of such
blocks is split by one regular expression over the file's bytes: no decoded
copy of the whole file, no line by line. A run counts only if it consists of
blocks exactly as envman writes them: no escapes, no quote inside a value,
nothing between blocks (each starts where the one before ended). Anything else
is left to the line reader (``envman.profile.read_simple_toml``) or tomllib.

A checked run is kept as the file's bytes: a ``RunTable`` turns its blocks into
records when they are used, so an export of 10,000 secrets never holds them all.
A large file's runs are not even kept: a ``envman.filerun.FileRun`` reads them
again from the open file, a piece at a time, each time they are used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, ItemsView, Iterator, Mapping, ValuesView
from typing import TYPE_CHECKING, Any, AnyStr, TypeVar

from envman.records import Record

if TYPE_CHECKING:
    from envman.filerun import FileRun, OpenFile

BLOCKS_FROM = 32_768  # bytes; below this compiling the block patterns costs more than it saves
FILE_RUNS_FROM = 1 << 20  # bytes; a file this large is not held: its runs are read again in pieces when used
FIELD = rb'"(.*)"\n'  # a string field's line; `.` is much faster than a negated class, quotes are counted instead
NAME = rb"([A-Z_][A-Z0-9_]*)"  # a valid variable name: others end the run

_T = TypeVar("_T")
_compiled: dict[Any, re.Pattern[Any]] = {}


def pattern(source: AnyStr) -> re.Pattern[AnyStr]:
    """``re.compile(source)``, compiled on first use: compiling at import would cost every command start-up time."""
    found = _compiled.get(source)
    if found is None:
        found = _compiled[source] = re.compile(source)
    return found


class NotSimple(Exception):
    """The text is not in the plain form envman writes: read it the general way."""


class Run(Record):
    """A run of ``[kind.NAME]`` blocks in a file's bytes: ``raw[start:end]``."""

    raw: bytes
    start: int
    end: int

    def blocks(self, block: bytes) -> Iterator[re.Match[bytes]]:
        """Each block's match, in order; NotSimple when something other than a block lies in the run."""
        pos = self.start
        for m in pattern(block).finditer(self.raw, self.start, self.end):
            if m.start() != pos:
                raise NotSimple
            pos = m.end()
            yield m
        if pos != self.end:
            raise NotSimple

    def groups(self, block: bytes) -> list[Any]:
        """Every block's groups (a checked run: no positions to check again); a group that did not match is empty."""
        return pattern(block).findall(self.raw, self.start, self.end)

    def iter_groups(self, block: bytes) -> Iterator[tuple[bytes, ...]]:
        """Every block's groups, one block at a time (a checked run); a group that did not match is None."""
        return map(re.Match.groups, pattern(block).finditer(self.raw, self.start, self.end))

    def names(self, kind: bytes) -> list[bytes]:
        """The names of the blocks' headers (a checked run: each line that opens a table there is one)."""
        return pattern(rb"\n\[" + kind + rb"\." + NAME + rb"\]\n").findall(self.raw, self.start - 1, self.end)

    def has(self, kind: bytes, name: str) -> bool:
        """Whether block ``[kind.name]`` is in this checked run."""
        return self.find(kind, name) >= 0

    def find(self, kind: bytes, name: str) -> int:
        """Where block ``[kind.name]`` starts in this checked run, or -1 (a header is a whole line there)."""
        raw = name.encode("utf-8", "replace")
        if pattern(NAME).fullmatch(raw) is None:  # a name with "]" or a newline could match across lines
            return -1
        at = self.raw.find(b"\n[" + kind + b"." + raw + b"]\n", self.start - 1, self.end)
        return at + 1 if at >= 0 else -1

    def find_groups(self, kind: bytes, block: bytes, name: str) -> tuple[bytes, ...] | None:
        """The groups of block ``[kind.name]`` in this checked run, or None."""
        at = self.find(kind, name)
        if at < 0:
            return None
        m = pattern(block).match(self.raw, at, self.end)
        assert m is not None  # every block of the run matched when it was read
        return m.groups()

    def cut(self) -> bytes:
        """The file without the run."""
        return self.raw[:self.start] + self.raw[self.end:]


def block_run(raw: bytes, kind: bytes) -> Run | None:
    """The run of ``[kind.NAME]`` tables that starts at the first one; None when there is none or it holds an escape or a stray quote.

    The block patterns read every string as one ``key = "..."`` line (``FIELD``): a line
    ends with ``"\\n`` exactly once, so a run of such blocks holds two quotes per ``"\\n``,
    and more when a value holds a quote (which TOML would not allow).
    """
    start = raw.find(b"\n[" + kind + b".") + 1
    if not start:
        return None
    after = pattern(rb"\n\[(?!" + kind + rb"\.)").search(raw, start)
    end = after.start() + 1 if after is not None else len(raw)
    if raw.find(b"\\", start, end) >= 0 or raw.count(b'"', start, end) != 2 * raw.count(b'"\n', start, end):
        return None
    return Run(raw, start, end)


# Distinct names looked up one block at a time before a table builds all its records:
# a command asks for one variable a few times; a loop over names asks for many.
ONE_BY_ONE = 8


class RunTable(Mapping[str, _T]):
    """A table read from a run of blocks, kept as the file's bytes.

    As records, a large profile's tables take about twice the file's size. The run is
    checked when the file is read (``checked_table``); iterating builds the records one
    at a time and keeps none (an export, a hash); a lookup finds its one block, until
    ``ONE_BY_ONE`` names were asked for: then all records are built once; a membership
    test only finds the block's header.
    """

    __slots__ = ("_asked", "_block", "_build", "_count", "_found", "_kind", "_names", "_records", "_run")

    def __init__(self, run: Run | FileRun, kind: bytes, block: bytes, build: Callable[[tuple[bytes, ...]], _T], count: int) -> None:
        self._run, self._kind, self._block, self._build, self._count = run, kind, block, build, count
        self._records: dict[str, _T] | None = None
        self._found: dict[str, _T | None] = {}  # looked up one block at a time (None: not in the table)
        self._names: frozenset[str] | None = None  # the names, once a second membership test asked
        self._asked = False

    def _all(self) -> dict[str, _T]:
        if self._records is None:
            build = self._build
            self._records = {groups[0].decode(): build(groups) for groups in self._run.groups(self._block)}
            self._found = {}
        return self._records

    def _lookup(self, name: str) -> _T | None:
        if self._records is not None:
            return self._records.get(name)
        found = self._found
        if name in found:
            return found[name]
        if len(found) >= ONE_BY_ONE:
            return self._all().get(name)
        groups = self._run.find_groups(self._kind, self._block, name) if isinstance(name, str) else None
        record = found[name] = None if groups is None else self._build(groups)
        return record

    def __getitem__(self, name: str) -> _T:
        record = self._lookup(name)
        if record is None:
            raise KeyError(name)
        return record

    def get(self, name: str, default: Any = None) -> Any:
        record = self._lookup(name)
        return default if record is None else record

    def __contains__(self, name: object) -> bool:
        if self._records is not None:
            return name in self._records
        if name in self._found:
            return self._found[name] is not None
        if self._names is None:
            if not self._asked:
                # One question (`export --only NAME`) scans the run once and builds nothing; a
                # second means a loop over names (`check`): the names are read once, not a scan each.
                self._asked = True
                return isinstance(name, str) and self._run.has(self._kind, name)
            self._names = frozenset(n.decode() for n in self._run.names(self._kind))
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        if self._records is not None:
            return iter(self._records)
        return (name.decode() for name in self._run.names(self._kind))

    def __len__(self) -> int:
        return self._count

    def items(self) -> ItemsView[str, _T]:
        return self._records.items() if self._records is not None else _RunItems(self)

    def values(self) -> ValuesView[_T]:
        return self._records.values() if self._records is not None else _RunValues(self)

    def stream(self) -> Iterator[tuple[str, _T]]:
        """(name, record) in name order, built one at a time."""
        if self._records is not None:
            return iter(self._records.items())
        build = self._build
        return ((groups[0].decode(), build(groups)) for groups in self._run.iter_groups(self._block))

    def raw_groups(self) -> Iterator[tuple[bytes, ...]] | None:
        """Every block's groups in order, for a reader that needs no record (None once the records were built)."""
        return None if self._records is not None else self._run.iter_groups(self._block)

    @property
    def run(self) -> Run | FileRun:
        return self._run

    def __repr__(self) -> str:
        return f"RunTable({self._count} blocks)"


class _RunItems(ItemsView[str, _T]):
    _mapping: RunTable[_T]

    def __iter__(self) -> Iterator[tuple[str, _T]]:
        return self._mapping.stream()


class _RunValues(ValuesView[_T]):
    _mapping: RunTable[_T]

    def __iter__(self) -> Iterator[_T]:
        return (record for _, record in self._mapping.stream())


def checked_table(raw: bytes, kind: bytes, block: bytes, build: Callable[[tuple[bytes, ...]], _T],
                  file: OpenFile | None = None) -> RunTable[_T] | None:
    """The run of ``[kind.NAME]`` blocks as a table, if every block is as envman writes it and the names strictly increase.

    None when there is no such run or its names are out of order; NotSimple when something other than a block lies in it.
    ``file``: ``raw`` is that open file's content, to be read again from it rather than held.
    """
    run = block_run(raw, kind)
    if run is None:
        return None
    names = [m.group(1) for m in run.blocks(block)]
    if not all(map(bytes.__lt__, names, names[1:])):
        return None
    if file is None:
        return RunTable(run, kind, block, build, len(names))
    from envman.filerun import FileRun

    return RunTable(FileRun(file, kind, run.start, run.end), kind, block, build, len(names))
