"""The append-only, hash-chained ledger: one JSON object per line.

Each line starts with ``{"prev":"<sha256 of the previous line>"`` so the chain
can be checked by slicing, without parsing, and the hash of an entry is the
SHA-256 of its exact line bytes. Entries never hold values: only names, masked
key ids and hashes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from envman.crypto import sha256_hex
from envman.errors import TamperError
from envman.records import Record

GENESIS = "0" * 64
# Events that write a new version of an environment.
VERSION_EVENTS = frozenset({"import", "set", "unset", "rotate", "promote", "rollback", "owner", "rekey"})
# Events that attest a version as known good (verify only when it passed).
GOOD_EVENTS = frozenset({"mark-good", "verify"})
_PREFIX = b'{"prev":"'


class Entry(Record):
    """One ledger event."""

    seq: int
    time: str
    actor: str
    event: str
    env: str = ""
    version: int = 0
    changed: tuple[str, ...] = ()
    keys: Mapping[str, str] = {}  # variable -> masked key id (a MaskedIds for a large export)
    profile: str = ""  # content hash of the version this event produced or refers to
    detail: dict[str, Any] = {}  # noqa: RUF012 - shared, never changed in place
    prev: str = GENESIS
    hash: str = ""  # sha256 of this entry's line; filled when encoded or read

    @property
    def marks_good(self) -> bool:
        return self.event == "mark-good" or (self.event == "verify" and bool(self.detail.get("ok")))

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "time": self.time, "actor": self.actor, "event": self.event, "env": self.env,
            "version": self.version, "changed": list(self.changed), "keys": dict(self.keys), "profile": self.profile,
            "detail": self.detail, "prev": self.prev, "hash": self.hash,
        }


class MaskedIds(Mapping[str, str]):
    """Variable -> masked key id, kept as the JSON the ledger line will hold: an export of 10,000 secrets records them all.

    As a dict, 10,000 names and masks take ~1.7 MB, and ``json.dumps`` of them as much again
    while it writes the line; this keeps ~30 bytes each. Each name is added once.
    """

    _CHUNK = 1024  # pending entries joined into one string at a time

    def __init__(self) -> None:
        from json.encoder import encode_basestring_ascii

        self._q = encode_basestring_ascii
        self._chunks: list[str] = []
        self._pending: list[str] = []
        self._count = 0
        self._loaded: dict[str, str] | None = None  # parsed once when read as a mapping (rare: the ledger writes the JSON)

    def add(self, name: str, masked: str) -> None:
        q = self._q
        self._loaded = None
        self._pending.append(f"{q(name)}:{q(masked)}")
        self._count += 1
        if len(self._pending) >= self._CHUNK:
            self._chunks.append(",".join(self._pending))
            self._pending.clear()

    def json_parts(self) -> list[str]:
        """The JSON object's members, to be joined with nothing between them (the commas are in place)."""
        parts = [*self._chunks, ",".join(self._pending)] if self._pending else list(self._chunks)
        return [parts[0], *("," + p for p in parts[1:])] if parts else []

    def _dict(self) -> dict[str, str]:
        if self._loaded is None:
            self._loaded = json.loads("{" + "".join(self.json_parts()) + "}")
        return self._loaded

    def __getitem__(self, name: str) -> str:
        return self._dict()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"MaskedIds({self._count} ids)"


def encode(entry: Entry) -> tuple[bytes, str]:
    """The entry's line (with newline) and its hash."""
    keys = entry.keys
    obj: dict[str, Any] = {"prev": entry.prev}  # first, at a fixed offset
    obj.update(
        seq=entry.seq, time=entry.time, actor=entry.actor, event=entry.event, env=entry.env,
        version=entry.version, changed=list(entry.changed), keys={} if isinstance(keys, MaskedIds) else keys,
        profile=entry.profile, detail=entry.detail,
    )
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    if isinstance(keys, MaskedIds) and keys:
        # the first '"keys":{}' is the field: inside a JSON string every quote is escaped
        head, tail = text.split('"keys":{}', 1)
        text = "".join([head, '"keys":{', *keys.json_parts(), "}", tail])
    line = text.encode("ascii")
    return line + b"\n", sha256_hex(line)


def decode(line: bytes, where: str = "ledger") -> Entry:
    """Parse one line (without newline), validating the field types."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise TamperError(f"{where}: a line is not valid JSON", "run `envman ledger verify` to find it") from None
    if not isinstance(obj, dict) or not line.startswith(_PREFIX):
        raise TamperError(f"{where}: a line is not a ledger entry", "run `envman ledger verify` to find it")
    ints, strs = ("seq", "version"), ("prev", "time", "actor", "event", "env", "profile")
    ok = all(isinstance(obj.get(k), int) and not isinstance(obj.get(k), bool) for k in ints)
    ok = ok and all(isinstance(obj.get(k), str) for k in strs)
    ok = ok and isinstance(obj.get("changed"), list) and all(isinstance(c, str) for c in obj["changed"])
    ok = ok and isinstance(obj.get("keys"), dict) and isinstance(obj.get("detail"), dict)
    if not ok:
        raise TamperError(f"{where}: an entry has missing or mistyped fields", "run `envman ledger verify` to find it")
    return Entry(
        seq=obj["seq"], time=obj["time"], actor=obj["actor"], event=obj["event"], env=obj["env"],
        version=obj["version"], changed=tuple(obj["changed"]), keys=obj["keys"], profile=obj["profile"],
        detail=obj["detail"], prev=obj["prev"], hash=sha256_hex(line),
    )


class ChainProblem(Record):
    """The first place where the chain breaks."""

    line: int  # 1-based line number
    seq: int | None
    message: str


def check_chain(lines: Iterable[bytes]) -> tuple[int, str, ChainProblem | None]:
    """Walk raw lines (each without newline); return (count, head hash, first problem or None).

    The fast path slices the ``prev`` field and compares hashes; lines are only
    parsed to name a problem or to check the sequence numbers.
    """
    import hashlib

    prev = GENESIS.encode()
    count = 0
    for number, line in enumerate(lines, 1):
        if line[:9] != _PREFIX or line[73:74] != b'"' or line[9:73] != prev:
            seq = _seq_of(line)
            if line[:9] != _PREFIX:
                return count, prev.decode(), ChainProblem(number, seq, f"line {number} is not a ledger entry (edited or corrupted)")
            what = "an entry before it was edited or removed" if number > 1 else "the first entry is not the start of a ledger"
            return count, prev.decode(), ChainProblem(number, seq, f"entry #{seq} at line {number} does not follow its predecessor: {what}")
        seq = _seq_of(line)
        if seq != number:
            why = f"entry at line {number} has sequence {seq}, expected {number}: entries were removed or reordered"
            return count, prev.decode(), ChainProblem(number, seq, why)
        prev = hashlib.sha256(line).hexdigest().encode()
        count += 1
    return count, prev.decode(), None


def _seq_of(line: bytes) -> int | None:
    # `"seq":N,` directly follows the 64-hex prev field.
    start = line.find(b'"seq":', 73)
    if start < 0:
        return None
    end = line.find(b",", start)
    try:
        return int(line[start + 6 : end])
    except ValueError:
        return None


def iter_lines_reversed(fh: Any, end: int, block: int = 65536) -> Iterator[bytes]:
    """Yield the complete lines of a binary file before offset ``end``, last first."""
    pos, tail = end, b""
    while pos > 0:
        step = min(block, pos)
        pos -= step
        fh.seek(pos)
        chunk = fh.read(step) + tail
        parts = chunk.split(b"\n")
        tail = parts[0]
        for part in reversed(parts[1:]):
            if part:
                yield part
    if tail:
        yield tail
