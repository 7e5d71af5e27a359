"""One environment's values at one version (pure data), and its TOML form."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import envman.blocks
from envman.blocks import FIELD, NAME, NotSimple, RunTable, checked_table, pattern
from envman.errors import TamperError
from envman.records import Record
from envman.schema import is_var_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from envman.filerun import OpenFile
    from envman.schema import VarSpec

FORMAT = 1
_T = TypeVar("_T")
_HASH_CHUNK = 1_000  # variables per piece when hashing a profile


class SecretRecord(Record):
    """A secret as stored: ciphertext plus what may be shown without the key."""

    ciphertext: str
    masked: str
    fingerprint: str

    def __repr__(self) -> str:
        return f"SecretRecord(masked={self.masked!r}, fingerprint={self.fingerprint!r})"

    def as_dict(self) -> dict[str, str]:
        return {"ciphertext": self.ciphertext, "masked": self.masked, "fingerprint": self.fingerprint}


class VarMeta(Record):
    """Per-environment ownership and rotation facts of one variable."""

    owner: str = ""
    rotation_method: str = ""
    rotation_days: int = 0
    rotated_at: str = ""  # UTC ISO time of the last rotation (or first set)
    note: str = ""
    rollback: SecretRecord | None = None  # the value before the last rotation

    def as_dict(self) -> dict[str, Any]:
        """The facts recorded (empty ones left out), as written to the profile file."""
        # spelled out: this runs once per variable when a large profile is hashed or written
        out: dict[str, Any] = {}
        if self.owner:
            out["owner"] = self.owner
        if self.rotation_method:
            out["rotation_method"] = self.rotation_method
        if self.rotation_days:
            out["rotation_days"] = self.rotation_days
        if self.rotated_at:
            out["rotated_at"] = self.rotated_at
        if self.note:
            out["note"] = self.note
        if self.rollback is not None:
            out["rollback"] = self.rollback.as_dict()
        return out

    def with_defaults(self, spec: VarSpec) -> VarMeta:
        """These facts, with the schema's owner and rotation filling what this environment does not record."""
        return self._replace(
            owner=self.owner or spec.owner,
            rotation_method=self.rotation_method or spec.rotation_method,
            rotation_days=self.rotation_days or spec.rotation_days,
        )


class Profile(Record):
    """The full set of values of one environment at one version."""

    project: str
    env: str
    version: int
    values: dict[str, str] = {}  # noqa: RUF012 - shared, never changed in place
    secrets: Mapping[str, SecretRecord] = {}  # a RunTable when read from a large file
    meta: Mapping[str, VarMeta] = {}  # a RunTable when read from a large file
    ledger_seq: int = 0  # the ledger entry that created this version
    ledger_hash: str = ""

    def names(self) -> list[str]:
        return sorted({*self.values, *self.secrets})

    def has(self, var: str) -> bool:
        return var in self.values or var in self.secrets

    def secrets_by_name(self) -> Iterable[tuple[str, SecretRecord]]:
        """(name, record) of every secret, in name order."""
        return _by_name(self.secrets)

    def body(self) -> dict[str, Any]:
        """Everything that defines the set, without the ledger pointer (which is derived from it); tables sorted by name."""
        return {
            "format": FORMAT, "project": self.project, "environment": self.env, "version": self.version,
            "values": dict(_by_name(self.values)),
            "secrets": {k: v.as_dict() for k, v in _by_name(self.secrets)},
            "meta": {k: d for k, m in _by_name(self.meta) if (d := m.as_dict())},
        }

    def content_hash(self) -> str:
        """SHA-256 of the canonical body (sorted-key, compact, ASCII JSON); recorded in the ledger entry that made this version."""
        hasher = ContentHasher(self)
        for name, record in self.secrets_by_name():
            hasher.secret(name, record)
        return hasher.hexdigest()

    def values_hash(self) -> str:
        """Hash of the values only (plain values and ciphertext fingerprints), for "same set" checks."""
        import json

        from envman.crypto import sha256_hex

        data = {"values": self.values, "secrets": {k: v.fingerprint for k, v in self.secrets.items()}}
        return sha256_hex(json.dumps(data, sort_keys=True, ensure_ascii=True).encode("ascii"))

    def with_changes(self, **kwargs: Any) -> Profile:
        return self._replace(**kwargs)

    def to_toml(self) -> bytes:
        """The profile file: the body plus the ledger pointer."""
        import tomli_w

        doc = self.body()
        doc["ledger"] = {"seq": self.ledger_seq, "hash": self.ledger_hash}
        head = "# Written by envman: change it with envman commands. Hand edits are detected by `envman check`.\n"
        return (head + tomli_w.dumps(doc)).encode("utf-8")


def _by_name(table: Mapping[str, _T]) -> Iterable[tuple[str, _T]]:
    """``sorted(table.items())``, without comparing (name, record) tuples: several times faster on 10,000 rows."""
    if isinstance(table, RunTable):
        return table.items()  # already in order
    return ((k, table[k]) for k in sorted(table))


class ContentHasher:
    """``Profile.content_hash`` fed as the canonical JSON is laid out, the secrets one by one.

    The bytes hashed are those of one ``json.dumps(body(), sort_keys=True, ...)``, written
    row by row (``q`` quotes a string exactly as json does) and hashed ``_HASH_CHUNK`` rows
    at a time: the document never exists whole. An export feeds the secrets as it
    decrypts them, so a large profile is read once.
    """

    def __init__(self, profile: Profile) -> None:
        from json.encoder import encode_basestring_ascii as q

        from envman.crypto import sha256

        self._q, self._profile = q, profile
        self._digest = sha256(f'{{"environment":{q(profile.env)},"format":{FORMAT},"meta":{{'.encode("ascii"))
        self._rows: list[str] = []
        self._sep = ""
        groups = profile.meta.raw_groups() if isinstance(profile.meta, RunTable) else None
        if groups is not None:  # from the file's fields: no record built for each table
            for fields in groups:
                row = _meta_json_of_fields(q, fields)
                if row != "{}":
                    self._row(f'"{fields[0].decode()}":{row}')  # a name needs no escape
        else:
            for name, meta in _by_name(profile.meta):
                row = _meta_json(q, meta)
                if row != "{}":
                    self._row(f"{q(name)}:{row}")
        self._flush(f'}},"project":{q(profile.project)},"secrets":{{')

    def _row(self, row: str) -> None:
        self._rows.append(row)
        if len(self._rows) >= _HASH_CHUNK:
            self._flush()

    def _flush(self, then: str = "") -> None:
        """Hash the pending rows, then ``then`` (which closes the table: the next row starts a new one)."""
        if self._rows:
            self._digest.update((self._sep + ",".join(self._rows)).encode("ascii"))
            self._rows.clear()
            self._sep = ","
        if then:
            self._digest.update(then.encode("ascii"))
            self._sep = ""

    def secret(self, name: str, record: SecretRecord) -> None:
        """The next secret, in name order."""
        self._row(f"{self._q(name)}:{_secret_json(self._q, record)}")

    def hexdigest(self) -> str:
        """The hash, once every secret was fed."""
        q = self._q
        self._flush('},"values":{')
        for name, value in _by_name(self._profile.values):
            self._row(f"{q(name)}:{q(value)}")
        self._flush(f'}},"version":{self._profile.version}}}')
        return self._digest.hexdigest()


def _secret_json(q: Callable[[str], str], s: SecretRecord) -> str:
    """``json.dumps(s.as_dict(), sort_keys=True, ...)`` spelled out (``q`` quotes a string as json does): once per secret."""
    return _secret_row(q, s.ciphertext, s.fingerprint, s.masked)


def _secret_row(q: Callable[[str], str], ciphertext: str, fingerprint: str, masked: str) -> str:
    return f'{{"ciphertext":{q(ciphertext)},"fingerprint":{q(fingerprint)},"masked":{q(masked)}}}'


def _meta_json(q: Callable[[str], str], m: VarMeta) -> str:
    """``json.dumps(m.as_dict(), sort_keys=True, ...)`` spelled out."""
    rollback = _secret_json(q, m.rollback) if m.rollback is not None else ""
    return _meta_row(q, m.note, m.owner, rollback, m.rotated_at, m.rotation_days, m.rotation_method)


def _meta_json_of_fields(q: Callable[[str], str], fields: tuple[bytes, ...]) -> str:
    """``_meta_json`` of the table a ``_META_BLOCK`` matched, from its fields, without building the record."""
    _, owner, method, days, rotated_at, note, rollback, ciphertext, masked, fingerprint = fields
    rollback_json = _secret_row(q, ciphertext.decode(), fingerprint.decode(), masked.decode()) if rollback else ""
    return _meta_row(q, (note or b"").decode(), (owner or b"").decode(), rollback_json, (rotated_at or b"").decode(),
                     int(days or 0), (method or b"").decode())


def _meta_row(q: Callable[[str], str], note: str, owner: str, rollback: str, rotated_at: str, days: int, method: str) -> str:
    """A meta table's canonical JSON: its non-empty fields, keys in sorted order (``rollback`` already JSON)."""
    parts = []
    if note:
        parts.append(f'"note":{q(note)}')
    if owner:
        parts.append(f'"owner":{q(owner)}')
    if rollback:
        parts.append(f'"rollback":{rollback}')
    if rotated_at:
        parts.append(f'"rotated_at":{q(rotated_at)}')
    if days:
        parts.append(f'"rotation_days":{int(days)}')
    if method:
        parts.append(f'"rotation_method":{q(method)}')
    return "{" + ",".join(parts) + "}"


def _bad(where: str, what: str) -> TamperError:
    return TamperError(f"{where} is malformed: {what}", "restore it from git or run `envman repair`")


def _secret(where: str, raw: object) -> SecretRecord:
    if isinstance(raw, dict):  # spelled out, no generator: this runs once per secret
        ciphertext, masked, fingerprint = raw.get("ciphertext"), raw.get("masked"), raw.get("fingerprint")
        if isinstance(ciphertext, str) and isinstance(masked, str) and isinstance(fingerprint, str):
            return SecretRecord(ciphertext, masked, fingerprint)
    raise _bad(where, "a secret needs ciphertext, masked and fingerprint strings")


def _var_meta(where: str, name: str, raw: object) -> VarMeta:
    if not isinstance(raw, dict):
        raise _bad(where, f"[meta.{name}] must be a table")
    strings = [raw.get(k, "") for k in ("owner", "rotation_method", "rotated_at", "note")]
    days = raw.get("rotation_days", 0)
    if not all(isinstance(v, str) for v in strings) or not isinstance(days, int) or isinstance(days, bool):
        raise _bad(where, f"[meta.{name}] has a field of the wrong type")
    owner, method, rotated_at, note = strings
    rollback = _secret(where, raw["rollback"]) if "rollback" in raw else None
    return VarMeta(owner, method, days, rotated_at, note, rollback)


def profile_from_mapping(
    where: str, data: dict[str, Any], *, secrets: Mapping[str, SecretRecord] | None = None, meta: Mapping[str, VarMeta] | None = None,
) -> Profile:
    """Validate a parsed profile mapping; every malformation names the file.

    ``secrets`` and ``meta``: those tables, already read as records under valid names (``data`` then holds neither).
    """
    if data.get("format") != FORMAT:
        raise _bad(where, f"unknown format {data.get('format')!r}")
    project, env, version = data.get("project"), data.get("environment"), data.get("version")
    if not isinstance(project, str) or not isinstance(env, str):
        raise _bad(where, "project and environment must be strings")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise _bad(where, "version must be a whole number")
    values, raw_secrets, raw_meta = data.get("values", {}), data.get("secrets", {}), data.get("meta", {})
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise _bad(where, "[values] must hold strings")
    if not isinstance(raw_secrets, dict) or not isinstance(raw_meta, dict):
        raise _bad(where, "[secrets] and [meta] must be tables")
    for name in (*values, *([] if secrets is not None else raw_secrets), *([] if meta is not None else raw_meta)):
        if not is_var_name(name):
            raise _bad(where, f"invalid variable name {name!r}")
    if secrets is None:
        secrets = {k: _secret(where, v) for k, v in raw_secrets.items()}
    if meta is None:
        meta = {name: _var_meta(where, name, raw) for name, raw in raw_meta.items()}
    ledger = data.get("ledger", {})
    if not isinstance(ledger, dict) or not isinstance(ledger.get("seq", 0), int) or not isinstance(ledger.get("hash", ""), str):
        raise _bad(where, "[ledger] must hold seq and hash")
    return Profile(
        project=project,
        env=env,
        version=version,
        values=dict(values),
        secrets=secrets,
        meta=meta,
        ledger_seq=ledger.get("seq", 0),
        ledger_hash=ledger.get("hash", ""),
    )


def profile_from_toml(where: str, raw: bytes, file: OpenFile | None = None) -> Profile:
    """Parse a profile file's bytes; ``file``: the open file they were read from, which large tables then read again instead of holding ``raw``."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise _bad(where, "it starts with a byte-order mark")
    blocks = _read_profile_bytes(raw, file) if len(raw) >= envman.blocks.BLOCKS_FROM else None
    if blocks is not None:
        return profile_from_mapping(where, blocks[0], secrets=blocks[1], meta=blocks[2])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(where, f"not UTF-8 text (byte {exc.start})") from None
    data = read_simple_toml(text)
    if data is None:
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # only where: tomllib's message may quote a character of the file, and the file holds secrets' masks
            at = re.search(r"\(at (line \d+, column \d+|end of document)\)$", str(exc))
            raise _bad(where, "not valid TOML" + (f" ({at.group(1)})" if at else "")) from None
    return profile_from_mapping(where, data)


# -- a fast reader for the TOML envman writes ------------------------------------
#
# tomllib parses ~25,000 key/values a second: reading a 1,000-secret profile took
# longer than the rest of `envman.load()`. The files envman writes (tomli_w,
# tomlkit) use a small regular subset: `[dotted.bare.keys]` headers and
# `key = value` lines whose value is a basic string, an integer, a boolean or a
# one-line array of strings. read_simple_toml() reads exactly that subset, line
# by line, and returns None for anything else (other spacing, comments after
# values, floats, dates, literal strings, CRLF, duplicate keys...), so callers
# fall back to tomllib: on what it accepts it returns what tomllib returns.

_BARE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"  # bare-key characters
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
# control characters other than tab and newline (CR included): TOML wants them escaped
_CONTROL = tuple(chr(c) for c in (*range(9), *range(11, 32), 127))


def _has_control(text: str) -> bool:
    return any(c in text for c in _CONTROL)  # one fast scan per character: quicker than a character class


def _basic_string(value: str) -> str:
    """The content of a one-line TOML basic string ``"..."``; NotSimple if it is anything else."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        raise NotSimple
    body = value[1:-1]
    if "\\" not in body:
        if '"' in body:
            raise NotSimple
        return body
    if pattern(r'(?:[^"\\]|\\.)*').fullmatch(body) is None:
        raise NotSimple

    def one(m: re.Match[str]) -> str:
        hex_digits = m.group(1) or m.group(2)
        if hex_digits is not None:
            code = int(hex_digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise NotSimple
            return chr(code)
        char = _ESCAPES.get(m.group(3))
        if char is None:
            raise NotSimple
        return char

    return pattern(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))").sub(one, body)


def _simple_value(value: str) -> Any:
    if value[:1] == '"':
        return _basic_string(value)
    if value == "true" or value == "false":
        return value == "true"
    digits = value[1:] if value[:1] == "-" else value
    if digits.isascii() and digits.isdigit() and (digits[0] != "0" or value == "0"):
        return int(value)
    if value[:1] == "[" and value[-1:] == "]" and "\\" not in value:
        inner = value[1:-1]
        return [_basic_string(item) for item in inner.split(", ")] if inner else []
    raise NotSimple


def read_simple_toml(text: str) -> dict[str, Any] | None:
    """``text`` parsed like ``tomllib.loads`` if it uses only the subset envman writes, else None."""
    if _has_control(text):
        return None
    root: dict[str, Any] = {}
    table = root
    defined: set[str] = set()
    header_chars = _BARE + "."
    try:
        for line in text.split("\n"):
            if not line or line[0] == "#":
                continue
            if line[0] == "[":
                header = line[1:-1]
                if (line[-1] != "]" or not header or header.strip(header_chars) or header in defined
                        or header[0] == "." or header[-1] == "." or ".." in header):
                    return None
                defined.add(header)
                table = root
                for part in header.split("."):
                    table = table.setdefault(part, {})
                    if not isinstance(table, dict):
                        return None
                continue
            key, sep, value = line.partition(" = ")
            if not sep or not key or key.strip(_BARE) or key in table:
                return None
            # the common case inline: a string without escapes
            if value[:1] == '"' and value[-1:] == '"' and len(value) > 1 and "\\" not in value and '"' not in value[1:-1]:
                table[key] = value[1:-1]
            else:
                table[key] = _simple_value(value)
    except NotSimple:
        return None
    return root


# Secrets and their meta tables are most of a large profile: each is read as a run of
# blocks (envman.blocks) when it is written exactly as envman writes it.
_SECRET_FIELDS = b"ciphertext = " + FIELD + b"masked = " + FIELD + b"fingerprint = " + FIELD
_SECRET_BLOCK = rb"\[secrets\." + NAME + rb"\]\n" + _SECRET_FIELDS + rb"\n?"
_META_BLOCK = (
    rb"\[meta\." + NAME + rb"\]\n(?:owner = " + FIELD + b")?(?:rotation_method = " + FIELD + b")?"
    rb"(?:rotation_days = ([1-9][0-9]{0,8})\n)?(?:rotated_at = " + FIELD + b")?(?:note = " + FIELD + rb")?\n?"
    rb"(\[meta\.\1\.rollback\]\n" + _SECRET_FIELDS + rb"\n?)?"
)
_CONTROL_BYTES = tuple(c.encode() for c in _CONTROL)


# Built from a block's groups, once per secret: fields in order through tuple's own constructor.
def _secret_of(groups: tuple[bytes, ...]) -> SecretRecord:
    _, ciphertext, masked, fingerprint = groups
    return SecretRecord._make((ciphertext.decode(), masked.decode(), fingerprint.decode()))


def _meta_of(groups: tuple[bytes, ...]) -> VarMeta:
    _, owner, method, days, rotated_at, note, rollback, ciphertext, masked, fingerprint = groups
    record = _secret_of((rollback, ciphertext, masked, fingerprint)) if rollback else None
    return VarMeta._make(((owner or b"").decode(), (method or b"").decode(), int(days or 0), (rotated_at or b"").decode(),
                          (note or b"").decode(), record))


def _read_profile_bytes(
    raw: bytes, file: OpenFile | None = None,
) -> tuple[dict[str, Any], RunTable[SecretRecord] | None, RunTable[VarMeta] | None] | None:
    """``raw`` parsed like ``tomllib.loads``, with the secret and meta tables as runs; None when it is not what envman writes."""
    if any(c in raw for c in _CONTROL_BYTES):
        return None
    try:
        # both runs in the whole file (no copies): no line of a secrets run starts with "[meta." and none of a meta run with "[secrets."
        secrets = checked_table(raw, b"secrets", _SECRET_BLOCK, _secret_of, file)
        meta = checked_table(raw, b"meta", _META_BLOCK, _meta_of, file)
        rest, at = [], 0
        for run in sorted((t.run for t in (secrets, meta) if t is not None), key=lambda r: r.start):
            if run.start < at:
                return None
            rest.append(raw[at:run.start])
            at = run.end
        data = read_simple_toml(b"".join([*rest, raw[at:]]).decode())
    except (UnicodeDecodeError, NotSimple):
        return None
    if data is None or (secrets is not None and "secrets" in data) or (meta is not None and "meta" in data):
        return None
    return data, secrets, meta


def empty_profile(project: str, env: str) -> Profile:
    """Version 0: an environment with no values yet."""
    return Profile(project=project, env=env, version=0)
