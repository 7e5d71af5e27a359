"""Find known secrets, current and past, in files, build output and git history.

Every secret is looked for exactly; nothing is guessed from entropy. Two modes,
chosen per secret:

* keyed (plaintext known): the plain text and its encoded forms (base64 at the
  three byte alignments, standard and URL-safe; percent-encoding; JSON string
  escaping; hex) all become patterns of one multi-pattern automaton, run once
  over each buffer, however many secrets there are.
* keyless (plaintext ``None``): the visible prefix and suffix of the masked form
  (``sk-…cdef``) select candidate strings, and a candidate counts only when
  ``fingerprint_fn(candidate)`` equals the stored fingerprint. A candidate starts
  with the prefix, ends with the suffix, is ``len(prefix) + len(suffix) + 1`` to
  ``KEYLESS_MAX_LEN`` characters long, and its hidden middle is made only of
  ``SECRET_ALPHABET`` characters. An empty prefix (suffix) means the candidate
  starts (ends) at a token boundary: where the run of alphabet characters starts
  (ends), or next to one of ``= / .`` (``KEY=…``, ``/v1/…``, ``….``). When a
  ``mask_fn`` is given, a candidate must also mask to the stored masked form,
  a cheap test that spares most slow fingerprint calls. Keyless mode finds
  plain occurrences only: an encoded secret has no visible prefix or suffix to
  anchor on.

Files are read in chunks that overlap by the longest pattern (plus the keyless
window), so a secret across a chunk boundary is found once. Binary files are
scanned as bytes; zip, tar and gzip archives are scanned member by member.
Hits carry the location and the masked secret, never the plaintext.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Protocol, cast
from urllib.parse import quote, quote_plus

from envman.errors import NotFound, StoreError, UsageError

PLAIN = "plain"
BASE64 = "base64"
URL = "url"
JSON = "json"
HEX = "hex"
ENCODINGS = (PLAIN, BASE64, URL, JSON, HEX)

#: Characters a secret's hidden middle may contain in keyless mode.
SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~+/="
#: Longest candidate keyless mode considers, in characters.
KEYLESS_MAX_LEN = 1024
#: Shorter plaintexts are not searched: they would match everywhere.
MIN_SECRET_LEN = 6
#: Encoded forms shorter than this are dropped for the same reason.
_MIN_ENCODED_LEN = 8

RULE_ID = "S001"

_CHUNK = 8 << 20
_SNIFF = 8000  # git's own text/binary heuristic: a NUL byte in the first 8000 bytes
_DFA_MAX_PATTERN_BYTES = 256 << 10  # above this the automaton library picks its own layout
_MAX_ARCHIVE_DEPTH = 3
_SPOOL_MAX = 64 << 20

_ALPHA = frozenset(SECRET_ALPHABET.encode())
_RUN = re.compile(rb"[A-Za-z0-9_\-.~+/=]*")
_SOFT = re.compile(rb"[=/.]")
_MASK_GAP = re.compile(r"…|\.{3}|\*{3,}|•{3,}")
# Continuation bytes (0x80-0xBF) do not start a character; deleting every other
# byte leaves them, so len(seg) - len(leftover) counts UTF-8 characters.
_NOT_CONTINUATION = bytes(b for b in range(256) if not 0x80 <= b < 0xC0)

# Zip containers: Python wheels and eggs, Java, Android, NuGet, editor add-ons, office files.
_ZIP_NAMES = ".zip .whl .egg .jar .war .ear .apk .aar .nupkg .vsix .xpi .docx .xlsx .pptx .odt .ods .epub"
_ZIP_SUFFIXES = tuple(_ZIP_NAMES.split())
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_GZIP_SUFFIXES = (".gz",)

ProgressFn = Callable[[str, int], None]


@dataclass(frozen=True)
class KnownSecret:
    """One value a variable holds or held; ``plaintext`` is None without the private key."""

    env: str
    var: str
    version: int
    current: bool
    masked: str
    fingerprint: str
    plaintext: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Hit:
    """Where a known secret was found; names the masked secret, never its value.

    ``line``/``column`` are 1-based; ``column`` counts characters of the line for
    text, while for binary content ``line`` is 1 and ``column`` is the byte
    offset + 1. ``offset`` is always the byte offset in the file, blob or member.
    ``source`` is "file" (``path`` as walked), "commit" or "index" (``path``
    relative to the repository).
    """

    path: str
    line: int
    column: int
    env: str
    var: str
    version: int
    current: bool
    masked: str
    encoding: str
    commit: str | None = None
    member: str | None = None
    offset: int = 0
    binary: bool = False
    source: str = "file"

    def summary(self) -> str:
        """One line naming the secret, e.g. ``production/API_KEY v3 (current) sk-…cdef, base64``."""
        state = "current" if self.current else "past"
        return f"{self.env}/{self.var} v{self.version} ({state}) {self.masked}, {self.encoding}"


@dataclass
class ScanStats:
    """Counters a scan fills in when given one; ``skipped`` lists unreadable paths."""

    files: int = 0
    bytes: int = 0
    commits: int = 0
    blobs: int = 0
    fingerprints: int = 0
    skipped: list[str] = field(default_factory=list)


def encoded_forms(plaintext: str) -> list[tuple[bytes, str]]:
    """Byte patterns of a secret and its encodings, each with its encoding name.

    Encoded forms shorter than 8 bytes are left out (they would match noise), so
    a secret of 6 or 7 bytes is not looked for at every base64 alignment.
    """
    raw = plaintext.encode("utf-8")
    forms: dict[bytes, str] = {raw: PLAIN}

    def add(pattern: bytes, encoding: str) -> None:
        if len(pattern) >= _MIN_ENCODED_LEN and pattern not in forms:
            forms[pattern] = encoding

    for pad in range(3):
        data = b"\0" * pad + raw
        # Keep only the base64 characters that depend on the secret's bytes alone:
        # drop those sharing bits with the pad (ceil(8*pad/6)) and the partial tail.
        start, stop = (8 * pad + 5) // 6, 8 * len(data) // 6
        add(base64.b64encode(data)[start:stop], BASE64)
        add(base64.urlsafe_b64encode(data)[start:stop], BASE64)
    for text in (quote(plaintext, safe=""), quote(plaintext), quote_plus(plaintext)):
        add(text.encode("ascii"), URL)
        add(re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), text).encode("ascii"), URL)
    for ascii_only in (True, False):
        body = json.dumps(plaintext, ensure_ascii=ascii_only)[1:-1]
        add(body.encode("utf-8"), JSON)
        add(body.replace("/", "\\/").encode("utf-8"), JSON)  # PHP and others escape '/'
    add(raw.hex().encode("ascii"), HEX)
    add(raw.hex().upper().encode("ascii"), HEX)
    return list(forms.items())


def split_masked(masked: str) -> tuple[str, str] | None:
    """The visible prefix and suffix of a masked secret, or None if it has no gap marker."""
    gap = _MASK_GAP.search(masked)
    if gap is None:
        return None
    return masked[: gap.start()], masked[gap.end() :]


def unsearchable(secrets: Iterable[KnownSecret]) -> list[KnownSecret]:
    """Secrets a scan cannot look for: too short, or keyless with nothing visible."""
    out = []
    for s in secrets:
        if s.plaintext is not None:
            if len(s.plaintext) < MIN_SECRET_LEN:
                out.append(s)
        else:
            parts = split_masked(s.masked)
            if parts is None or not (parts[0] or parts[1]):
                out.append(s)
    return out


# --- multi-pattern matching ---------------------------------------------------


class _Matcher(Protocol):
    def find(self, buf: bytes) -> Iterable[tuple[int, int, int]]:
        """Every occurrence, overlapping ones included, as (pattern index, start, end)."""
        ...


class _NoMatcher:
    def find(self, buf: bytes) -> Iterable[tuple[int, int, int]]:
        return ()


class _AhoCorasickMatcher:
    """The Rust aho-corasick automaton: one pass, releases the GIL, ~1 GB/s."""

    def __init__(self, patterns: Sequence[bytes]) -> None:
        import ahocorasick_rs

        small = sum(map(len, patterns)) <= _DFA_MAX_PATTERN_BYTES
        impl = ahocorasick_rs.Implementation.DFA if small else None
        self._ac = ahocorasick_rs.BytesAhoCorasick(list(patterns), implementation=impl)

    def find(self, buf: bytes) -> Iterable[tuple[int, int, int]]:
        return self._ac.find_matches_as_indexes(buf, overlapping=True)


class _TrieNode:
    __slots__ = ("children", "end")

    def __init__(self) -> None:
        self.children: dict[int, _TrieNode] = {}
        self.end = False


class _RegexMatcher:
    """Pure-stdlib fallback: the patterns as one trie-shaped regex.

    A trie regex fails fast at most positions (a plain alternation of escaped
    literals is 10x slower). It returns the longest pattern at each start, so
    the patterns that are prefixes of it are added from a precomputed table, and
    the search resumes one byte after each match start to catch overlaps.
    """

    def __init__(self, patterns: Sequence[bytes]) -> None:
        self._index = {p: i for i, p in enumerate(patterns)}
        self._lengths = [len(p) for p in patterns]
        lengths = sorted({len(p) for p in patterns})
        self._prefixes = [[self._index[p[:k]] for k in lengths if k < len(p) and p[:k] in self._index] for p in patterns]
        root = _TrieNode()
        for p in patterns:
            node = root
            for b in p:
                node = node.children.setdefault(b, _TrieNode())
            node.end = True
        self._rx = re.compile(_trie_regex(root))

    def find(self, buf: bytes) -> Iterable[tuple[int, int, int]]:
        pos = 0
        search = self._rx.search
        while (m := search(buf, pos)) is not None:
            start, text = m.start(), m.group()
            idx = self._index[text]
            yield idx, start, start + len(text)
            for short in self._prefixes[idx]:
                yield short, start, start + self._lengths[short]
            pos = start + 1


def _trie_regex(node: _TrieNode) -> bytes:
    """Render a trie as a regex; recursion happens only where the trie branches."""
    out: list[bytes] = []
    while len(node.children) == 1 and not node.end:
        ((byte, node),) = node.children.items()
        out.append(re.escape(bytes([byte])))
    if node.children:
        alts = b"|".join(re.escape(bytes([b])) + _trie_regex(child) for b, child in sorted(node.children.items()))
        # Greedy '?' tries the longer patterns first, so each match is the longest one.
        out.append(b"(?:" + alts + b")" + (b"?" if node.end else b""))
    return b"".join(out)


def _build_matcher(patterns: Sequence[bytes], engine: str | None = None) -> _Matcher:
    if engine not in (None, "aho-corasick", "regex"):
        raise UsageError(f"unknown scan engine: {engine}", "use aho-corasick or regex (ENVMAN_SCAN_ENGINE)")
    if not patterns:
        return _NoMatcher()
    if engine != "regex":
        try:
            return _AhoCorasickMatcher(patterns)
        except ImportError:
            # Without the compiled automaton the scan stays exact, only slower.
            if engine == "aho-corasick":
                raise NotFound(
                    "the aho-corasick scan engine needs the ahocorasick-rs package",
                    "pip install ahocorasick-rs, or unset ENVMAN_SCAN_ENGINE",
                ) from None
    return _RegexMatcher(patterns)


# --- the scanner ----------------------------------------------------------------


@dataclass
class _KeylessGroup:
    """Keyless secrets sharing one masked prefix and suffix."""

    prefix: bytes
    suffix: bytes
    min_len: int
    members: list[int]

    @property
    def anchor_is_prefix(self) -> bool:
        # Anchor on the longer visible part: longer literals occur less often.
        return len(self.prefix) >= len(self.suffix)


_Found = tuple[int, int, str]  # (offset in buffer, secret index, encoding)


def _decode(candidate: bytes) -> str | None:
    try:
        return candidate.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _nchars(buf: bytes, start: int, stop: int) -> int:
    seg = buf[start:stop]
    return len(seg) - len(seg.translate(None, _NOT_CONTINUATION))


def _full_reader(f: IO[bytes]) -> Callable[[int], bytes]:
    """A read(n) that returns fewer than n bytes only at end of stream."""

    def read(n: int) -> bytes:
        data = f.read(n)
        if not data or len(data) >= n:
            return data or b""
        parts, got = [data], len(data)
        while got < n:
            more = f.read(n - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        return b"".join(parts)

    return read


def _archive_kind(name: str) -> str | None:
    low = name.lower()
    if low.endswith(_TAR_SUFFIXES):
        return "tar"
    if low.endswith(_ZIP_SUFFIXES):
        return "zip"
    if low.endswith(_GZIP_SUFFIXES):
        return "gzip"
    return None


def _member_join(outer: str | None, inner: str) -> str:
    return f"{outer}!/{inner}" if outer else inner


class Scanner:
    """Secrets compiled once into patterns, reusable across files, blobs and streams."""

    def __init__(
        self,
        secrets: Iterable[KnownSecret],
        fingerprint_fn: Callable[[str], str],
        *,
        mask_fn: Callable[[str], str] | None = None,
        stats: ScanStats | None = None,
        chunk_size: int = _CHUNK,
        engine: str | None = None,
    ) -> None:
        """Compile ``secrets``; ``engine`` (or ``ENVMAN_SCAN_ENGINE``) forces "aho-corasick" or "regex"."""
        self._secrets = _collapse_versions(secrets)
        self._fingerprint_fn = fingerprint_fn
        self._mask_fn = mask_fn
        self._masks: dict[bytes, str | None] = {}
        self._fingerprints: dict[bytes, str | None] = {}
        self.stats = stats if stats is not None else ScanStats()
        self.unsearchable = unsearchable(self._secrets)
        skip = {id(s) for s in self.unsearchable}

        index: dict[bytes, int] = {}
        self._keyed: list[list[tuple[int, str]]] = []
        self._anchors: list[list[_KeylessGroup]] = []

        def pattern(p: bytes) -> int:
            if p not in index:
                index[p] = len(index)
                self._keyed.append([])
                self._anchors.append([])
            return index[p]

        groups: dict[tuple[str, str], _KeylessGroup] = {}
        for i, s in enumerate(self._secrets):
            if id(s) in skip:
                continue
            if s.plaintext is not None:
                for p, enc in encoded_forms(s.plaintext):
                    self._keyed[pattern(p)].append((i, enc))
                continue
            parts = split_masked(s.masked)
            assert parts is not None  # unsearchable() removed the rest
            group = groups.get(parts)
            if group is None:
                pre, suf = parts[0].encode(), parts[1].encode()
                min_len = max(len(pre) + len(suf) + 1, MIN_SECRET_LEN)
                group = groups[parts] = _KeylessGroup(pre, suf, min_len, [])
                self._anchors[pattern(pre if group.anchor_is_prefix else suf)].append(group)
            group.members.append(i)

        patterns = list(index)
        self._matcher = _build_matcher(patterns, engine or os.environ.get("ENVMAN_SCAN_ENGINE") or None)
        longest = max(map(len, patterns), default=1)
        keyless = KEYLESS_MAX_LEN + 1 if groups else 0
        # A match is handled by the buffer where its start lies in [lo, hi); each
        # buffer carries `_before` bytes of context before lo and `_after` past hi.
        self._before = keyless + 1
        self._after = max(longest, keyless) + 1
        self._overlap = self._before + self._after
        self._chunk = max(chunk_size, 2 * self._overlap)
        self.source = "file"  # what Hit.source says; scan_git switches it

    @property
    def empty(self) -> bool:
        """True when no secret can be searched, so every scan finds nothing."""
        return not self._keyed

    # - one stream -

    def scan_stream(self, stream: IO[bytes], path: str, *, commit: str | None = None, member: str | None = None) -> Iterator[Hit]:
        """Scan one byte stream as a plain (non-archive) file named ``path``."""
        yield from self._scan_read(_full_reader(stream), path, commit, member)

    def scan_bytes(self, data: bytes, path: str = "-") -> list[Hit]:
        """Scan bytes already in memory as one file."""
        return list(self.scan_stream(io.BytesIO(data), path))

    def _scan_read(self, read: Callable[[int], bytes], path: str, commit: str | None, member: str | None) -> Iterator[Hit]:
        chunk = self._chunk
        data = read(chunk)
        if not data:
            return
        binary = b"\0" in data[:_SNIFF]
        buf, start, lo = data, 0, 0
        newlines = 0  # newlines before buf[0]
        column0 = 0  # characters between the last newline and buf[0]
        while True:
            more = read(chunk) if len(data) == chunk else b""
            self.stats.bytes += len(data)
            last = not more
            hi = len(buf) if last else len(buf) - self._after
            found = self._find(buf, lo, hi)
            if found:
                yield from self._hits(found, buf, start, newlines, column0, binary, path, commit, member)
            if last:
                return
            keep = len(buf) - self._overlap
            if not binary:
                newlines += buf.count(b"\n", 0, keep)
                nl = buf.rfind(b"\n", 0, keep)
                column0 = _nchars(buf, nl + 1, keep) if nl >= 0 else column0 + _nchars(buf, 0, keep)
            buf, start, lo, data = buf[keep:] + more, start + keep, self._before, more

    def _find(self, buf: bytes, lo: int, hi: int) -> list[_Found]:
        out: list[_Found] = []
        for idx, s, e in self._matcher.find(buf):
            if lo <= s < hi:
                for i, enc in self._keyed[idx]:
                    out.append((s, i, enc))
                for group in self._anchors[idx]:
                    out.extend(self._keyless(buf, group, s, e))
        return out

    def _keyless(self, buf: bytes, g: _KeylessGroup, s: int, e: int) -> list[_Found]:
        """Candidates around one anchor occurrence, confirmed by fingerprint."""
        lp, lx = len(g.prefix), len(g.suffix)
        spans: list[tuple[int, int]] = []
        if g.anchor_is_prefix:
            limit = min(len(buf), s + KEYLESS_MAX_LEN)
            mid = s + lp
            run = _RUN.match(buf, mid, limit)
            run_end = run.end() if run else mid
            if lx:
                stop = min(limit, run_end + lx)
                j = buf.find(g.suffix, mid, stop)
                while j != -1:
                    if j + lx - s >= g.min_len:
                        spans.append((s, j + lx))
                    j = buf.find(g.suffix, j + 1, stop)
            else:
                ends = [m.start() for m in _SOFT.finditer(buf, mid + 1, run_end)]
                if run_end == len(buf) or buf[run_end] not in _ALPHA:
                    ends.append(run_end)
                spans.extend((s, t) for t in ends if t - s >= g.min_len)
        else:
            lo = max(0, e - KEYLESS_MAX_LEN)
            back = _RUN.match(buf[lo:s][::-1])
            run_start = s - (back.end() if back else 0)
            last_start = e - g.min_len
            if lp:
                i = buf.find(g.prefix, max(lo, run_start - lp), last_start + lp)
                while i != -1:
                    spans.append((i, e))
                    i = buf.find(g.prefix, i + 1, last_start + lp)
            else:
                starts = [m.end() for m in _SOFT.finditer(buf, run_start, s - 1)]
                if run_start == 0 or buf[run_start - 1] not in _ALPHA:
                    starts.append(run_start)
                spans.extend((c, e) for c in starts if e - c >= g.min_len)
        out: list[_Found] = []
        for c, z in spans:
            candidate = buf[c:z]
            members = g.members
            if self._mask_fn is not None:
                masked = self._mask(candidate)
                members = [i for i in members if self._secrets[i].masked == masked]
                if not members:
                    continue
            fp = self._fingerprint(candidate)
            if fp is not None:
                out.extend((c, i, PLAIN) for i in members if self._secrets[i].fingerprint == fp)
        return out

    def _mask(self, candidate: bytes) -> str | None:
        if candidate not in self._masks:
            text = _decode(candidate)
            self._masks[candidate] = None if text is None or self._mask_fn is None else self._mask_fn(text)
        return self._masks[candidate]

    def _fingerprint(self, candidate: bytes) -> str | None:
        # The fingerprint is a deliberately slow hash: each distinct candidate once.
        if candidate not in self._fingerprints:
            text = _decode(candidate)
            fp = None
            if text is not None:
                fp = self._fingerprint_fn(text)
                self.stats.fingerprints += 1
            self._fingerprints[candidate] = fp
        return self._fingerprints[candidate]

    def _hits(
        self,
        found: list[_Found],
        buf: bytes,
        start: int,
        newlines: int,
        column0: int,
        binary: bool,
        path: str,
        commit: str | None,
        member: str | None,
    ) -> Iterator[Hit]:
        source = self.source
        pos, line = 0, newlines + 1
        for s, i, enc in sorted(set(found)):
            if binary:
                row, col = 1, start + s + 1
            else:
                line += buf.count(b"\n", pos, s)
                pos = s
                nl = buf.rfind(b"\n", 0, s)
                row = line
                col = 1 + (_nchars(buf, nl + 1, s) if nl >= 0 else column0 + _nchars(buf, 0, s))
            sec = self._secrets[i]
            yield Hit(
                path=path,
                line=row,
                column=col,
                env=sec.env,
                var=sec.var,
                version=sec.version,
                current=sec.current,
                masked=sec.masked,
                encoding=enc,
                commit=commit,
                member=member,
                offset=start + s,
                binary=binary,
                source=source,
            )

    # - files and archives -

    def scan_file(self, path: str | os.PathLike[str]) -> Iterator[Hit]:
        """Scan one file; archives are scanned member by member."""
        name = os.fspath(path)
        with open(name, "rb") as f:
            self.stats.files += 1
            yield from self._scan_named(f, name, name, None, None, 0)

    def _scan_named(self, f: IO[bytes], name: str, path: str, commit: str | None, member: str | None, depth: int) -> Iterator[Hit]:
        """Scan ``f`` (seekable when ``name`` looks like an archive)."""
        kind = _archive_kind(name) if depth < _MAX_ARCHIVE_DEPTH else None
        opened = _open_archive(kind, f, name) if kind else None
        if opened is None:
            if kind:
                f.seek(0)  # not a readable archive after all: scan its raw bytes
            yield from self._scan_read(_full_reader(f), path, commit, member)
            return
        broken = _archive_errors()
        where = _member_join(member, "")
        try:
            for inner, stream in opened:
                where = _member_join(member, inner)
                if _archive_kind(inner) and depth + 1 < _MAX_ARCHIVE_DEPTH:
                    with _spool(stream) as spooled:
                        yield from self._scan_named(spooled, inner, path, commit, where, depth + 1)
                else:
                    yield from self._scan_read(_full_reader(stream), path, commit, where)
        except broken as exc:
            # A damaged member ends the walk of this archive; say what was not read.
            self.stats.skipped.append(f"{path}!/{where}: {type(exc).__name__}")


def _collapse_versions(secrets: Iterable[KnownSecret]) -> list[KnownSecret]:
    """One entry per (env, var, value): the current one, else the newest version.

    Every version of a profile repeats its unchanged secrets, so without this a
    leak of a long-lived key would be reported once per version.
    """
    best: dict[tuple[str, str, str, str | None], KnownSecret] = {}
    for s in secrets:
        key = (s.env, s.var, s.fingerprint, s.plaintext)
        old = best.get(key)
        if old is None or (s.current, s.version) > (old.current, old.version):
            best[key] = s
    return list(best.values())


def _archive_errors() -> tuple[type[BaseException], ...]:
    import tarfile
    import zipfile
    import zlib

    return (OSError, EOFError, ValueError, RuntimeError, zipfile.BadZipFile, tarfile.TarError, zlib.error)


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def _spool(stream: _Readable) -> IO[bytes]:
    """Copy a stream into a seekable file (in memory up to 64 MiB): zip needs to seek."""
    import shutil
    import tempfile

    spooled = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX)  # noqa: SIM115 - returned open
    shutil.copyfileobj(stream, spooled, 1 << 20)
    spooled.seek(0)
    return spooled


def _open_archive(kind: str, f: IO[bytes], name: str) -> Iterator[tuple[str, IO[bytes]]] | None:
    """Members of an archive as (name, stream), or None if ``f`` is not one."""
    if kind == "zip":
        import zipfile

        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            return None

        def zip_members() -> Iterator[tuple[str, IO[bytes]]]:
            with zf:
                for info in zf.infolist():
                    if not info.is_dir() and not info.flag_bits & 0x1:  # skip encrypted
                        with zf.open(info) as m:
                            yield info.filename, m

        return zip_members()
    if kind == "tar":
        import tarfile

        try:
            tf = tarfile.open(fileobj=f, mode="r:*")  # noqa: SIM115 - closed by tar_members()
        except (tarfile.TarError, OSError, EOFError, ValueError):
            return None

        def tar_members() -> Iterator[tuple[str, IO[bytes]]]:
            with tf:
                for info in tf:
                    if info.isfile():
                        m = tf.extractfile(info)
                        if m is not None:
                            with m:
                                yield info.name, m

        return tar_members()
    import gzip

    if f.read(2) != b"\x1f\x8b":
        return None
    f.seek(0)
    inner = os.path.basename(name)[: -len(".gz")] or "data"

    def gzip_member() -> Iterator[tuple[str, IO[bytes]]]:
        with gzip.GzipFile(fileobj=f, mode="rb") as g:
            yield inner, cast("IO[bytes]", g)

    return gzip_member()


# --- walking folders ---------------------------------------------------------------


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    secrets: Iterable[KnownSecret],
    fingerprint_fn: Callable[[str], str],
    *,
    respect_gitignore: bool = False,
    progress: ProgressFn | None = None,
    mask_fn: Callable[[str], str] | None = None,
    stats: ScanStats | None = None,
) -> Iterator[Hit]:
    """Scan files and folders (build output and binaries included, ``.git/`` skipped).

    With ``respect_gitignore`` a folder inside a git work tree is filtered by
    ``git ls-files -co --exclude-standard`` (one git call per work tree); outside
    a work tree nothing is filtered. Symbolic links met while walking are not
    followed; special files are skipped; unreadable files land in
    ``stats.skipped``. ``progress(path, size)`` is called after each file.
    ``mask_fn`` (pass ``envman.crypto.mask``) lets keyless mode drop most
    candidates before the slow fingerprint.
    """
    roots = [os.fspath(p) for p in paths]
    for root in roots:
        if not os.path.lexists(root):
            raise NotFound(f"no such file or folder: {root}", "check the path and try again")
    scanner = Scanner(secrets, fingerprint_fn, mask_fn=mask_fn, stats=stats)
    if scanner.empty:
        return
    gitfilter = _GitFilter() if respect_gitignore else None
    for path in _iter_files(roots, gitfilter, scanner.stats):
        try:
            yield from scanner.scan_file(path)
        except OSError as exc:
            scanner.stats.skipped.append(f"{path}: {exc.strerror or type(exc).__name__}")
            continue
        if progress is not None:
            progress(path, _size(path))


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _iter_files(roots: list[str], gitfilter: _GitFilter | None, stats: ScanStats) -> Iterator[str]:
    for root in roots:
        allowed = gitfilter.for_root(root) if gitfilter else None
        if not os.path.isdir(root):
            if os.path.isfile(root) and (allowed is None or allowed(root, False)):
                yield root
            continue
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                stats.skipped.append(f"{folder}: {exc.strerror or type(exc).__name__}")
                continue
            subfolders = []
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        # History is the job of scan_git; the object store is compressed anyway.
                        if entry.name != ".git" and (allowed is None or allowed(entry.path, True)):
                            subfolders.append(entry.path)
                    elif entry.is_file(follow_symlinks=False) and (allowed is None or allowed(entry.path, False)):
                        yield entry.path
                except OSError as exc:
                    stats.skipped.append(f"{entry.path}: {exc.strerror or type(exc).__name__}")
            stack.extend(reversed(subfolders))


class _GitFilter:
    """What ``.gitignore`` leaves in: one ``git ls-files`` per work tree, cached."""

    def __init__(self) -> None:
        self._tops: dict[str, str | None] = {}
        self._trees: dict[str, tuple[set[str], set[str], tuple[str, ...]]] = {}

    def for_root(self, root: str) -> Callable[[str, bool], bool] | None:
        """A predicate for paths under ``root``, or None when it is not in a work tree."""
        real_root = os.path.realpath(root)
        start = real_root if os.path.isdir(real_root) else os.path.dirname(real_root)
        if start not in self._tops:
            found = _git_toplevel(start)
            self._tops[start] = os.path.realpath(found) if found else None
        top = self._tops[start]
        if top is None:
            return None
        if top not in self._trees:
            self._trees[top] = _git_listing(top)
        files, folders, trees = self._trees[top]
        cut = len(root)

        def allowed(path: str, is_dir: bool) -> bool:
            # Walked paths extend `root` textually; map them onto the resolved root.
            tail = path[cut:].lstrip(os.sep)
            real = os.path.join(real_root, tail) if tail else real_root
            rel = os.path.relpath(real, top).replace(os.sep, "/")
            if rel == "." or rel.startswith(trees):
                return True
            if rel.startswith("../"):
                return True  # outside this work tree: nothing to go by
            return rel in folders if is_dir else rel in files

        return allowed


def _git_toplevel(folder: str) -> str | None:
    out = _git(["rev-parse", "--show-toplevel"], folder, check=False)
    if out is None:
        return None
    return out.decode("utf-8", "surrogateescape").strip() or None


def _git_listing(top: str) -> tuple[set[str], set[str], tuple[str, ...]]:
    """Tracked plus untracked-but-not-ignored files, their folders, and whole trees.

    Nested repositories and submodules are listed as one folder entry: everything
    inside them is let through.
    """
    out = _git(["ls-files", "-co", "--exclude-standard", "-z"], top)
    assert out is not None
    files: set[str] = set()
    folders: set[str] = set()
    trees: list[str] = []
    for raw in out.split(b"\0"):
        if not raw:
            continue
        rel = raw.decode("utf-8", "surrogateescape")
        if rel.endswith("/") or os.path.isdir(os.path.join(top, rel)):
            trees.append(rel.rstrip("/") + "/")
            rel = rel.rstrip("/")
        files.add(rel)
        parent = rel.rpartition("/")[0]
        while parent and parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    folders.update(t.rstrip("/") for t in trees)
    return files, folders, tuple(trees)


# --- git -------------------------------------------------------------------------


def _git(args: list[str], cwd: str, *, check: bool = True) -> bytes | None:
    """Run one git command; None on failure when not ``check``. Secrets never go on argv."""
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args], cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise NotFound("git is not installed", "install git, or scan files without the git options") from None
    if proc.returncode != 0:
        if not check:
            return None
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise StoreError(
            f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}",
            "check that the folder is a git repository and git works there",
        )
    return proc.stdout


def scan_git(
    repo_dir: str | os.PathLike[str],
    secrets: Iterable[KnownSecret],
    fingerprint_fn: Callable[[str], str],
    *,
    since: str | None = None,
    staged: bool = False,
    progress: ProgressFn | None = None,
    mask_fn: Callable[[str], str] | None = None,
    stats: ScanStats | None = None,
) -> Iterator[Hit]:
    """Scan every blob of the history once (or a range, or only the index).

    * default: every blob reachable from any ref (``git log --all``), each read
      once; a hit names the first commit, in topological order, that added that
      blob, with the path it had there.
    * ``since="REV"``: only blobs added or changed by commits in ``REV..HEAD``
      (reachable from HEAD, not from REV), i.e. what pushing HEAD on top of REV
      would add. A value containing ``..`` is used as the range itself, e.g.
      ``"origin/main..feature"``.
    * ``staged=True``: the staged version of each file that differs from HEAD
      (``git diff --cached``), read from the index, never from the work tree;
      hits have ``commit=None``.

    Only git itself sees the repository; it never gets a secret on its command
    line. ``progress(path, size)`` is called after each blob.
    """
    folder = os.fspath(repo_dir)
    if not os.path.isdir(folder):
        raise NotFound(f"no such folder: {folder}", "pass the path of a git repository")
    if staged and since is not None:
        raise UsageError("staged and since cannot be combined", "scan the index or a commit range, not both")
    if since is not None and (not since or since.startswith("-")):
        raise UsageError(f"invalid revision: {since!r}", "pass a commit, branch or tag, e.g. origin/main")
    top = _git_toplevel(folder)
    if top is None:
        raise NotFound(f"not a git repository: {folder}", "run git init, or pass the repository's folder")
    scanner = Scanner(secrets, fingerprint_fn, mask_fn=mask_fn, stats=stats)
    if scanner.empty:
        return
    scanner.source = "index" if staged else "commit"
    blobs = _staged_blobs(top) if staged else _history_blobs(top, since, scanner.stats)
    yield from _scan_blobs(scanner, top, blobs, progress)


_ZERO_OID = re.compile(rb"0+")


def _history_blobs(top: str, since: str | None, stats: ScanStats) -> list[tuple[str, str | None, str]]:
    """(blob id, first commit, path) for every distinct blob the commits add."""
    if since is None:
        revs = ["--all"]
    else:
        rng = since if ".." in since else f"{since}..HEAD"
        probe = rng.split("..")
        for rev in filter(None, (p.lstrip(".") for p in probe)):
            if _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], top, check=False) is None:
                raise NotFound(f"unknown revision: {rev}", "pass a commit, branch or tag that exists, e.g. origin/main")
        revs = ["--end-of-options", rng]
    # --raw lists each commit's new blob ids; -m adds merges' diffs to every parent,
    # root commits diff against the empty tree: together they cover every blob.
    out = _git(["log", "--topo-order", "--reverse", "--raw", "--no-renames", "--no-abbrev", "-m", "-z", "--format=%x01%H", *revs], top)
    assert out is not None
    seen: set[str] = set()
    blobs: list[tuple[str, str | None, str]] = []
    commits: set[str] = set()
    commit: str | None = None
    meta: list[bytes] | None = None
    for token in out.split(b"\0"):
        if meta is not None:
            new_mode, new_oid = meta[1], meta[3]
            meta = None
            # 160000 is a submodule commit, and an all-zero id a deletion: no blob.
            if new_mode != b"160000" and not _ZERO_OID.fullmatch(new_oid):
                oid = new_oid.decode()
                if oid not in seen:
                    seen.add(oid)
                    blobs.append((oid, commit, token.decode("utf-8", "replace")))
            continue
        head = token.lstrip(b"\n")
        if head.startswith(b"\x01"):
            commit = head[1:].decode()
            commits.add(commit)
        elif head.startswith(b":"):
            meta = head[1:].split(b" ")
    stats.commits += len(commits)
    return blobs


def _staged_blobs(top: str) -> list[tuple[str, str | None, str]]:
    """(blob id, None, path) for each staged file that differs from HEAD."""
    changed_out = _git(["diff", "--cached", "--name-only", "--no-renames", "-z"], top)
    index_out = _git(["ls-files", "-s", "-z"], top)
    assert changed_out is not None and index_out is not None
    changed = set(changed_out.split(b"\0")) - {b""}
    blobs: list[tuple[str, str | None, str]] = []
    seen: set[str] = set()
    for entry in index_out.split(b"\0"):
        info, _, path = entry.partition(b"\t")
        fields = info.split(b" ")
        if path in changed and len(fields) == 3 and fields[0] != b"160000":
            oid = fields[1].decode()
            if oid not in seen:
                seen.add(oid)
                blobs.append((oid, None, path.decode("utf-8", "replace")))
    return blobs


class _BlobStream:
    """Exactly ``size`` bytes of one object from the ``cat-file --batch`` output."""

    def __init__(self, out: IO[bytes], size: int) -> None:
        self._out = out
        self.left = size

    def read(self, n: int = -1) -> bytes:
        take = self.left if n < 0 else min(n, self.left)
        data = self._out.read(take) if take else b""
        if len(data) < take:
            raise StoreError("git cat-file stopped early", "check the repository with git fsck")
        self.left -= len(data)
        return data

    def drain(self) -> None:
        while self.left:
            self.read(1 << 20)


def _scan_blobs(scanner: Scanner, top: str, blobs: list[tuple[str, str | None, str]], progress: ProgressFn | None) -> Iterator[Hit]:
    """Read every blob through one long-lived ``git cat-file --batch``."""
    if not blobs:
        return
    try:
        proc = subprocess.Popen(
            ["git", "cat-file", "--batch"], cwd=top, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise NotFound("git is not installed", "install git, or scan files without the git options") from None
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def feed() -> None:
        # A separate writer keeps both pipes moving: writing every id first would
        # deadlock once git's output pipe fills.
        try:
            for oid, _, _ in blobs:
                stdin.write(oid.encode() + b"\n")
            stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for oid, commit, path in blobs:
            header = stdout.readline().split()
            if len(header) != 3 or header[0].decode() != oid:
                raise StoreError(f"git cat-file could not read blob {oid}", "check the repository with git fsck")
            size = int(header[2])
            scanner.stats.blobs += 1
            stream = _BlobStream(stdout, size)
            if _archive_kind(path):
                with _spool(stream) as spooled:
                    yield from scanner._scan_named(spooled, path, path, commit, None, 0)
            else:
                yield from scanner._scan_read(stream.read, path, commit, None)
            stream.drain()
            stdout.read(1)  # the newline after each object
            if progress is not None:
                progress(path, size)
    finally:
        proc.kill()
        proc.wait()
        stdout.close()
        writer.join(timeout=5)


# --- reports -----------------------------------------------------------------------


def to_json(hits: Iterable[Hit]) -> list[dict[str, Any]]:
    """Hits as plain dicts, ready for ``json.dumps``."""
    return [asdict(h) for h in hits]


def to_sarif(hits: Iterable[Hit], *, base: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Hits as a SARIF 2.1.0 log; file paths are made relative to ``base`` (default: cwd)."""
    root = os.path.abspath(os.fspath(base) if base is not None else os.getcwd())
    results = []
    for h in hits:
        # Git paths are already relative to their repository.
        uri = os.path.relpath(os.path.abspath(h.path), root) if h.source == "file" else h.path
        uri = uri.replace(os.sep, "/")
        region: dict[str, int] = {"byteOffset": h.offset} if h.binary else {"startLine": h.line, "startColumn": h.column}
        where = f" in {h.member}" if h.member else ""
        when = f" at commit {h.commit[:12]}" if h.commit else ""
        state = "current" if h.current else "past"
        props: dict[str, Any] = {
            "env": h.env,
            "var": h.var,
            "version": h.version,
            "current": h.current,
            "masked": h.masked,
            "encoding": h.encoding,
        }
        if h.commit:
            props["commit"] = h.commit
        if h.member:
            props["member"] = h.member
        results.append(
            {
                "ruleId": RULE_ID,
                "level": "error" if h.current else "warning",
                "message": {
                    "text": f"Known secret {h.env}/{h.var} v{h.version} ({state} value {h.masked}) "
                    f"found, {h.encoding}-encoded{where}{when}."
                },
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}, "region": region}}],
                "properties": props,
            }
        )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "envman",
                        "rules": [
                            {
                                "id": RULE_ID,
                                "name": "KnownSecretFound",
                                "shortDescription": {"text": "known secret found"},
                                "fullDescription": {
                                    "text": "A secret that envman stores for an environment, current or past, "
                                    "appears in a file, build output or git history."
                                },
                                "help": {
                                    "text": "Rotate the secret (envman rotate ENV VAR) if it is current, "
                                    "then remove it from the file or history."
                                },
                                "defaultConfiguration": {"level": "error"},
                            }
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
