"""Team store: profiles, versions and the ledger in an OpenBao / Vault KV v2 mount, through hvac.

Selected in envman.toml::

    [backend]
    type = "openbao"                 # or "vault": the same KV v2 API
    address = "https://bao.example:8200"   # else BAO_ADDR / VAULT_ADDR
    mount = "secret"                 # the KV v2 mount (default "secret")
    prefix = "envman/<project id>"   # where this project lives in the mount (the default)
    namespace = ""                   # else BAO_NAMESPACE / VAULT_NAMESPACE
    tls_verify = true                # or the path of a CA bundle (else BAO_CACERT / VAULT_CACERT)
    tls_client_cert = ""             # optional client certificate and key files
    tls_client_key = ""
    timeout = 10                     # seconds per request

The token comes from ``BAO_TOKEN`` or ``VAULT_TOKEN``, else from ``~/.vault-token``
(where both ``bao login`` and ``vault login`` keep it). It is never printed.

Layout under ``<mount>/<prefix>``::

    profiles/<env>      one KV v2 secret per environment: KV version N *is* envman version N.
                        Its data is the profile exactly as the file store writes it (the body
                        with secrets as ciphertext, plus the ledger pointer), so the server
                        holds ciphertext only: an admin without the environment's key cannot
                        read a secret. Its metadata keeps every version (max_versions is the
                        largest KV allows: 0 would mean the mount default, 10) and requires
                        check-and-set on every write.
    ledger/<seq:012d>   one secret per ledger entry, created once with cas=0 (create-only):
                        {"line": the entry's exact line, "profile": the version it commits
                        (version events only)}. The hash chain is the file store's.
    head                the newest entry and the derived indexes (as ``ledger.head``),
                        replaced with check-and-set.

A change is written in this order:

1. ``ledger/<seq>`` with cas=0 — the commit point. Two writers that pick the same
   sequence number cannot both succeed: the loser has written nothing. It reads the
   entries it missed; if one changed the same environment it stops with
   ConflictError (nothing lost), otherwise it retries with the next number, so
   writers of different environments do not disturb each other.
2. ``profiles/<env>`` with cas = the version read, which makes KV version N.
3. ``head`` with cas = the head's KV version (re-read and merged when another
   writer moved it first).

A writer stopped after step 1 or 2 leaves an entry beyond the head: readers still
see the previous version (like the file store), and the next writer that meets
it — its cas=0 create fails, or a profile is newer than the head — rolls it
forward from the entry's copy of the version; ``envman repair`` does the same on
demand. KV versions are never deleted or destroyed by envman; a deleted version
is reported as tampering.

Requests: ``get``/``show`` read one secret; ``set`` reads the head and the profile
and writes the ledger entry, the profile and the head (five requests), whatever
the number of past versions. The first version of an environment also sets its
path's metadata, before the ledger entry, so a token that may not do so fails
with nothing committed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from envman.errors import ConflictError, EnvmanError, InvalidValue, StoreError, TamperError, UsageError
from envman.ledger import GENESIS, VERSION_EVENTS, ChainProblem, Entry, check_chain, decode, encode
from envman.manifest import Manifest
from envman.profile import Profile, empty_profile, profile_from_mapping
from envman.schema import check_env_name
from envman.store import Finding, Head
from envman.store._common import advance, after_commit, manifest_keys_from, read_version, stale_public_keys

# KV v2's max_versions is a uint32; 0 means "the mount's setting", whose own 0 means 10.
KEEP_VERSIONS = 2**32 - 1
SEQ_WIDTH = 12
_RETRIES = 20
_SETTINGS = frozenset({"type", "address", "mount", "prefix", "namespace", "tls_verify", "tls_client_cert", "tls_client_key", "timeout"})
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\Z")
_VERIFY_HINT = "run `envman ledger verify` for details; `envman repair` completes interrupted writes"
_TOKEN_HINT = "set BAO_TOKEN (or VAULT_TOKEN), or log in with `bao login`"


@dataclass(frozen=True)
class BaoSettings:
    """Where the project lives on the server (validated; no secret in here)."""

    kind: str
    address: str
    address_from: str
    mount: str
    prefix: str
    namespace: str
    tls_verify: bool | str
    client_cert: tuple[str, str] | None
    timeout: float

    def where(self, path: str = "") -> str:
        """A KV path as a user would type it: ``secret/envman/app/profiles/test``."""
        return "/".join(p for p in (self.mount, self.prefix, path) if p)


def check_kv_path(value: object, what: str) -> str:
    """Validate a mount or prefix: slash-separated plain segments, no ``.``/``..``, nothing escaping the mount."""
    if not isinstance(value, str) or not value.strip("/"):
        example = "secret" if what == "mount" else "envman/myapp"
        raise InvalidValue(f"[backend] {what} must be a non-empty path", f"e.g. {what} = \"{example}\"")
    text = value.strip("/")
    for segment in text.split("/"):
        if segment in (".", "..") or not _SEGMENT.match(segment):
            raise InvalidValue(
                f"[backend] {what} {value!r} is not a plain path",
                "use segments of letters, digits, '.', '_' or '-' separated by '/', without '..' or empty parts",
            )
    return text


def _check_address(address: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(address)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue(f"OpenBao address {address!r} is not an http(s) URL", "e.g. address = \"https://bao.example.com:8200\"")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidValue("the OpenBao address must not carry credentials, a query or a fragment", "give only scheme://host:port")
    return address.rstrip("/")


def read_settings(manifest: Manifest, table: dict[str, Any] | None = None) -> BaoSettings:
    """Validate ``[backend]`` (or ``table``) for an OpenBao/Vault store; env vars fill what is absent."""
    table = manifest.backend if table is None else table
    unknown = sorted(set(table) - _SETTINGS)
    if unknown:
        raise InvalidValue(f"envman.toml: unknown [backend] setting {unknown[0]!r}", f"known: {', '.join(sorted(_SETTINGS))}")
    address, source = table.get("address"), "envman.toml"
    if address is None:
        source = next((v for v in ("BAO_ADDR", "VAULT_ADDR") if os.environ.get(v)), "")
        address = os.environ.get(source, "") if source else ""
    if not isinstance(address, str):
        raise InvalidValue("[backend] address must be a string", "e.g. address = \"https://bao.example.com:8200\"")
    if address:
        address = _check_address(address)
    namespace = table.get("namespace")
    if namespace is None:
        namespace = os.environ.get("BAO_NAMESPACE") or os.environ.get("VAULT_NAMESPACE") or ""
    if not isinstance(namespace, str):
        raise InvalidValue("[backend] namespace must be a string", "e.g. namespace = \"team-a\"")
    if namespace:
        namespace = check_kv_path(namespace, "namespace")
    verify = table.get("tls_verify")
    if verify is None:
        verify = os.environ.get("BAO_CACERT") or os.environ.get("VAULT_CACERT") or True
    if not isinstance(verify, bool | str) or verify == "":
        raise InvalidValue(
            "[backend] tls_verify must be true, false or the path of a CA bundle", "e.g. tls_verify = \"/etc/ssl/bao-ca.pem\""
        )
    cert, key = table.get("tls_client_cert"), table.get("tls_client_key")
    if (cert is None) != (key is None) or not all(isinstance(v, str) for v in (cert or "", key or "")):
        raise InvalidValue("[backend] tls_client_cert and tls_client_key go together, as file paths", "set both or neither")
    timeout = table.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        raise InvalidValue("[backend] timeout must be a number of seconds between 0 and 600", "e.g. timeout = 10")
    kind = table.get("type", "openbao")
    return BaoSettings(
        kind=str(kind),
        address=address,
        address_from=source if address else "",
        mount=check_kv_path(table.get("mount", "secret"), "mount"),
        prefix=check_kv_path(table.get("prefix", f"envman/{manifest.project}"), "prefix"),
        namespace=namespace,
        tls_verify=verify,
        client_cert=(cert, key) if cert and key else None,
        timeout=float(timeout),
    )


def find_token() -> tuple[str, str]:
    """(token, where it came from): BAO_TOKEN, VAULT_TOKEN, else ~/.vault-token."""
    for name in ("BAO_TOKEN", "VAULT_TOKEN"):
        value = os.environ.get(name, "").strip()
        if value:
            return value, name
    path = Path("~/.vault-token").expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        value = ""
    if value:
        return value, "~/.vault-token"
    raise StoreError("no OpenBao token", _TOKEN_HINT)


def profile_doc(profile: Profile) -> dict[str, Any]:
    """The KV data of a profile: what its TOML file holds, as a mapping."""
    return {**profile.body(), "ledger": {"seq": profile.ledger_seq, "hash": profile.ledger_hash}}


class _Missing(Exception):
    """A KV read found nothing; ``meta`` is set when the version exists but was deleted."""

    def __init__(self, meta: dict[str, Any] | None, route: bool = False) -> None:
        super().__init__("missing")
        self.meta = meta
        self.route = route  # the server has no such mount at all


class _Unreachable(StoreError):
    """No answer from the server: whether a write in flight took effect is unknown."""


class _CasMismatch(Exception):
    """A check-and-set write lost: someone else wrote first."""


@dataclass(frozen=True)
class _Record:
    """One ledger secret: the exact line, the entry, and the version it commits."""

    line: bytes
    entry: Entry
    doc: dict[str, Any] | None


class OpenBaoStore:
    """Profiles, versions and ledger in a KV v2 mount; see the module docstring for the layout."""

    def __init__(self, manifest: Manifest, table: dict[str, Any] | None = None) -> None:
        self.manifest = manifest
        self.settings = read_settings(manifest, table)
        self.mount = self.settings.mount
        self.prefix = self.settings.prefix
        self._client: Any = None
        self.token_source = ""
        self._keeps: set[str] = set()  # profile paths whose metadata this process has set

    def __repr__(self) -> str:
        return f"OpenBaoStore({self.settings.address or '?'} {self.settings.where()})"

    # -- the connection ------------------------------------------------------
    def client(self) -> Any:
        """The hvac client, made on first use (hvac is imported only here)."""
        if self._client is None:
            if not self.settings.address:
                raise StoreError("no OpenBao address", "set [backend] address in envman.toml, or BAO_ADDR")
            token, self.token_source = find_token()
            import hvac  # type: ignore[import-untyped]

            self._client = hvac.Client(
                url=self.settings.address, token=token, namespace=self.settings.namespace or None,
                verify=self.settings.tls_verify, cert=self.settings.client_cert, timeout=self.settings.timeout,
            )
        return self._client

    def call(self, op: str, path: str, fn: Callable[[Any], Any]) -> Any:
        """Run one request ``fn(client)``; every failure becomes an envman error that names no token."""
        import hvac.exceptions as hx  # type: ignore[import-untyped]
        import requests  # type: ignore[import-untyped,unused-ignore]

        client = self.client()
        where = self.settings.where(path) if path else self.settings.address
        address = self.settings.address
        try:
            return fn(client)
        except hx.InvalidPath as exc:
            data = exc.json.get("data") if isinstance(exc.json, dict) else None
            meta = data.get("metadata") if isinstance(data, dict) else None
            route = "no handler for route" in _first_error(exc)
            raise _Missing(meta if isinstance(meta, dict) else None, route) from None
        except hx.InvalidRequest as exc:
            text = _first_error(exc)
            if "check-and-set" in text:
                raise _CasMismatch() from None
            raise StoreError(f"OpenBao refused to {op} {where}: {text}", "check the [backend] mount and prefix") from None
        except (hx.Forbidden, hx.Unauthorized):
            raise self._forbidden(op, where) from None
        except (hx.VaultDown, hx.VaultNotInitialized):
            raise StoreError(f"OpenBao at {address} is sealed or not ready", "ask its operator to unseal it; then re-run") from None
        except hx.VaultError as exc:
            what = f"{type(exc).__name__}: {_first_error(exc)}"
            raise StoreError(f"OpenBao failed to {op} {where} ({what})", "re-run; if it persists, check the server's log") from None
        except requests.exceptions.SSLError:
            raise StoreError(
                f"TLS verification failed for {address}", "set [backend] tls_verify to the CA bundle that signed the server's certificate"
            ) from None
        except requests.exceptions.Timeout:
            raise _Unreachable(
                f"OpenBao at {address} did not answer within {self.settings.timeout:g}s",
                "check the server; raise [backend] timeout if it is slow",
            ) from None
        except requests.exceptions.RequestException:
            raise _Unreachable(
                f"cannot reach OpenBao at {address}", "check [backend] address (or BAO_ADDR) and that the server is running"
            ) from None

    def _forbidden(self, op: str, where: str) -> StoreError:
        # 403 means either a bad token or a policy that denies this path: ask the server which.
        import hvac.exceptions as hx
        import requests  # type: ignore[import-untyped,unused-ignore]

        try:
            self.client().auth.token.lookup_self()
        except (hx.Forbidden, hx.Unauthorized):
            return StoreError(f"the OpenBao token from {self.token_source} is invalid or expired", _TOKEN_HINT)
        except (hx.VaultError, requests.exceptions.RequestException):
            pass
        return StoreError(
            f"the OpenBao token from {self.token_source} may not {op} {where}",
            f"ask an OpenBao admin for a policy granting read, create and update on {self.settings.mount}/data/{self.prefix}/* "
            f"and read, update on {self.settings.mount}/metadata/{self.prefix}/*",
        )

    # -- paths ---------------------------------------------------------------
    def profile_path(self, env: str) -> str:
        return f"{self.prefix}/profiles/{check_env_name(env)}"

    def ledger_path(self, seq: int) -> str:
        if seq < 1:
            raise UsageError(f"invalid ledger sequence {seq}", "sequence numbers start at 1")
        return f"{self.prefix}/ledger/{seq:0{SEQ_WIDTH}d}"

    @property
    def head_path(self) -> str:
        return f"{self.prefix}/head"

    # -- low-level reads and writes ------------------------------------------
    def _read(self, path: str, version: int | None = None) -> tuple[Any, int] | None:
        """(data, KV version) of one secret version, or None when it never existed."""
        try:
            resp = self.call("read", path, lambda c: c.secrets.kv.v2.read_secret_version(
                path=path, version=version, mount_point=self.mount, raise_on_deleted_version=True))
        except _Missing as missing:
            if missing.route:
                raise StoreError(f"OpenBao has no KV v2 mount at {self.mount}/", "check [backend] mount") from None
            if missing.meta and (missing.meta.get("deletion_time") or missing.meta.get("destroyed")):
                number = missing.meta.get("version", version)
                state = "destroyed" if missing.meta.get("destroyed") else "deleted"
                raise TamperError(
                    f"version {number} of {self.settings.where(path)} was {state} in OpenBao (envman never deletes versions)",
                    "undelete it with `bao kv undelete`" if state == "deleted" else "restore it from a backup of the OpenBao storage",
                ) from None
            return None
        try:
            body = resp["data"]
            return body["data"], int(body["metadata"]["version"])
        except (TypeError, KeyError, ValueError):
            raise StoreError(
                f"OpenBao answered a read of {self.settings.where(path)} with an unexpected shape",
                "is [backend] mount a KV version 2 mount?",
            ) from None

    def _write(self, path: str, data: dict[str, Any], cas: int) -> bool:
        """Write a new version with check-and-set; False when another writer got there first."""
        try:
            self.call("write", path, lambda c: c.secrets.kv.v2.create_or_update_secret(
                path=path, secret=data, cas=cas, mount_point=self.mount))
        except _CasMismatch:
            return False
        except _Missing:
            raise StoreError(f"OpenBao has no KV v2 mount at {self.mount}/", "check [backend] mount") from None
        return True

    def _protected(self, env: str) -> bool:
        return env in self._keeps

    def _protect(self, env: str) -> None:
        """Keep every version of a profile and require check-and-set on it (before its first write)."""
        path = self.profile_path(env)
        self.call("configure", path, lambda c: c.secrets.kv.v2.update_metadata(
            path=path, max_versions=KEEP_VERSIONS, cas_required=True, mount_point=self.mount))
        self._keeps.add(env)

    def _metadata(self, env: str) -> dict[str, Any] | None:
        """The KV metadata of a profile path (settings and the state of every version)."""
        path = self.profile_path(env)
        try:
            resp = self.call("read", path, lambda c: c.secrets.kv.v2.read_secret_metadata(path=path, mount_point=self.mount))
        except _Missing:
            return None
        data = resp.get("data") if isinstance(resp, dict) else None
        return data if isinstance(data, dict) else None

    def _read_profile(self, env: str, version: int | None = None) -> Profile | None:
        path = self.profile_path(env)
        found = self._read(path, version)
        if found is None:
            return None
        data, kv_version = found
        where = f"OpenBao {self.settings.where(path)} (KV version {kv_version})"
        if not isinstance(data, dict):
            raise TamperError(f"{where} is not an envman profile", _VERIFY_HINT)
        profile = profile_from_mapping(where, data)
        if profile.project != self.manifest.project:
            raise TamperError(f"{where} belongs to project {profile.project!r}, not {self.manifest.project!r}", "check [backend] prefix")
        if profile.env != env:
            raise TamperError(f"{where} holds environment {profile.env!r}, not {env!r}", _VERIFY_HINT)
        if profile.version != kv_version:
            raise TamperError(f"{where} holds envman version {profile.version}: it was written outside envman", _VERIFY_HINT)
        return profile

    def _read_record(self, seq: int) -> _Record | None:
        path = self.ledger_path(seq)
        found = self._read(path)
        if found is None:
            return None
        data, kv_version = found
        where = f"OpenBao {self.settings.where(path)}"
        line = data.get("line") if isinstance(data, dict) else None
        if not isinstance(line, str) or not line.isascii() or "\n" in line:
            raise TamperError(f"{where} is not a ledger entry", _VERIFY_HINT)
        raw = line.encode("ascii")
        entry = decode(raw, where)
        if entry.seq != seq:
            raise TamperError(f"{where} holds entry #{entry.seq}, not #{seq}", _VERIFY_HINT)
        if kv_version != 1:
            raise TamperError(f"{where} was overwritten (KV version {kv_version}); ledger entries are written once", _VERIFY_HINT)
        doc = data.get("profile")
        return _Record(raw, entry, doc if isinstance(doc, dict) else None)

    def _read_head(self) -> tuple[Head, int] | None:
        found = self._read(self.head_path)
        if found is None:
            return None
        data, kv_version = found
        try:
            head = Head.from_json(data)
        except (TypeError, KeyError, ValueError, AttributeError):
            raise TamperError(f"OpenBao {self.settings.where(self.head_path)} is malformed", "run `envman repair`") from None
        return head, kv_version

    def _append(self, record: _Record) -> bool:
        """Create ``ledger/<seq>`` (cas=0): the commit point. False if that number is taken."""
        data: dict[str, Any] = {"line": record.line.decode("ascii")}
        if record.doc is not None:
            data["profile"] = record.doc
        return self._write(self.ledger_path(record.entry.seq), data, cas=0)

    def _put_version(self, env: str, doc: dict[str, Any], version: int) -> None:
        """Make ``doc`` KV version ``version`` of the profile (cas = version - 1); fine if someone already did."""
        if version == 1 and not self._protected(env):
            self._protect(env)
        if self._write(self.profile_path(env), doc, cas=version - 1):
            return
        # another writer may have rolled this very entry forward: that is the same content
        current = self._read_profile(env, version)
        expected = profile_from_mapping("ledger", doc).content_hash()
        if current is None or current.content_hash() != expected:
            raise TamperError(
                f"OpenBao {self.settings.where(self.profile_path(env))} has a version {version} that no ledger entry wrote",
                "it was written outside envman; " + _VERIFY_HINT,
            )

    def _publish(self, head: Head, kv_version: int) -> tuple[Head, int]:
        """Store ``head`` with check-and-set, merging with a head another writer published first."""
        for _ in range(_RETRIES):
            if self._write(self.head_path, head._asdict(), cas=kv_version):
                return head, kv_version + 1
            found = self._read_head()
            theirs, kv_version = found if found is not None else (Head(), 0)
            if theirs.seq >= head.seq:
                return theirs, kv_version  # it already includes our entry
            head, _ = self.catch_up(theirs)
        raise ConflictError("the ledger head kept changing while envman was writing it", "re-run the command")

    def catch_up(self, head: Head) -> tuple[Head, list[Entry]]:
        """Apply committed entries beyond ``head``, rolling their versions forward (does not store the head)."""
        applied: list[Entry] = []
        pending: dict[str, list[_Record]] = {}
        while (record := self._read_record(head.seq + 1)) is not None:
            if record.entry.prev != head.hash:
                raise TamperError(f"ledger entry #{record.entry.seq} does not follow entry #{head.seq}", _VERIFY_HINT)
            head = advance(head, record.entry, len(record.line) + 1)
            if record.entry.event in VERSION_EVENTS:
                pending.setdefault(record.entry.env, []).append(record)
            applied.append(record.entry)
        for env, records in pending.items():
            self._roll_forward(env, records)
        return head, applied

    def _roll_forward(self, env: str, records: list[_Record]) -> None:
        current = self._read_profile(env)
        have = current.version if current is not None else 0
        for record in records:
            entry = record.entry
            if entry.version <= have:
                continue
            if entry.version != have + 1:
                raise TamperError(
                    f"{env} is at version {have} in OpenBao but ledger entry #{entry.seq} follows with version {entry.version}",
                    "versions were removed from the store; " + _VERIFY_HINT,
                )
            doc = self._checked_doc(record)
            self._put_version(env, doc, entry.version)
            have = entry.version

    def _checked_doc(self, record: _Record) -> dict[str, Any]:
        entry = record.entry
        where = f"OpenBao {self.settings.where(self.ledger_path(entry.seq))}"
        if record.doc is None:
            raise TamperError(f"{where} lacks the version it commits", _VERIFY_HINT)
        profile = profile_from_mapping(where, record.doc)
        if (profile.env, profile.version, profile.content_hash()) != (entry.env, entry.version, entry.profile):
            raise TamperError(f"{where}: its copy of {entry.env} version {entry.version} does not match the entry", _VERIFY_HINT)
        return record.doc

    # -- the Store protocol: reading -----------------------------------------
    def current(self, env: str) -> Profile:
        """The newest version of ``env``: one request."""
        self.manifest.require_env(env)
        return self._read_profile(env) or empty_profile(self.manifest.project, env)

    def version(self, env: str, number: int) -> Profile:
        """Version ``number`` of ``env`` (KV version ``number`` of its profile): one request."""
        return read_version(self, env, number, self._read_profile)

    def head(self) -> Head:
        """The published ledger head (rebuilt from the ledger if it was never published)."""
        found = self._read_head()
        if found is not None:
            return found[0]
        if self._read_record(1) is None:
            return Head()
        return self._scan()[0]

    def _scan(self) -> tuple[Head, list[_Record]]:
        head, records = Head(), []
        while (record := self._read_record(head.seq + 1)) is not None:
            head = advance(head, record.entry, len(record.line) + 1)
            records.append(record)
        return head, records

    def entries(self) -> Iterator[Entry]:
        """Every ledger entry, oldest first (one request each)."""
        published = self.head().seq
        seq = 1
        while (record := self._read_record(seq)) is not None:
            yield record.entry
            seq += 1
        if seq <= published:
            raise TamperError(f"ledger entry #{seq} is missing from OpenBao, but the head records #{published}", _VERIFY_HINT)

    def entries_newest_first(self) -> Iterator[Entry]:
        """Ledger entries newest first, one request each, stopping when the caller stops."""
        head = self.head()
        newer: list[Entry] = []
        while (record := self._read_record(head.seq + len(newer) + 1)) is not None:
            newer.append(record.entry)
        yield from reversed(newer)
        for seq in range(head.seq, 0, -1):
            record = self._read_record(seq)
            if record is None:
                raise TamperError(f"ledger entry #{seq} is missing from OpenBao", _VERIFY_HINT)
            yield record.entry

    # -- the Store protocol: writing -----------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[OpenBaoTransaction]:
        """A read-modify-write guarded by check-and-set on the server (no lock is held)."""
        found = self._read_head()
        head, kv_version = found if found is not None else (Head(), 0)
        yield OpenBaoTransaction(self, head, kv_version)

    # -- integrity -----------------------------------------------------------
    def _all_records(self, published: int) -> tuple[list[_Record], ChainProblem | None]:
        records: list[_Record] = []
        seq = 1
        while True:
            try:
                record = self._read_record(seq)
            except TamperError as exc:
                return records, ChainProblem(seq, seq, exc.message)
            if record is None:
                if seq <= published:
                    message = f"entry #{seq} is missing from OpenBao (deleted), though the head records #{published}"
                    return records, ChainProblem(seq, seq, message)
                return records, None
            records.append(record)
            seq += 1

    def verify_integrity(self) -> tuple[int, ChainProblem | None, list[Finding]]:
        """Check the chain, the head, every version and every current profile against the ledger."""
        findings: list[Finding] = []
        try:
            found = self._read_head()
        except TamperError as exc:
            findings.append(Finding("", exc.message))
            found = None
        head = found[0] if found is not None else None
        records, missing = self._all_records(head.seq if head else 0)
        count, chain_head, problem = check_chain(r.line for r in records)
        problem = problem or missing
        if head is None and records:
            findings.append(Finding("", f"OpenBao {self.settings.where(self.head_path)} is missing", kind="crash"))
        findings += stale_public_keys(self.manifest, head)
        if problem is None and head is not None:
            if head.seq > count:
                findings.append(Finding("", f"the ledger ends at entry #{count} but its head records #{head.seq}: entries were removed"))
            elif head.seq == count and head.hash != chain_head:
                findings.append(Finding("", f"the newest ledger entry #{count} was changed after it was written"))
            elif head.seq < count:
                extra = count - head.seq
                message = f"the ledger has {extra} entries after its published head (an interrupted write)"
                findings.append(Finding("", message, kind="crash"))
        newest: dict[str, Entry] = {}
        if problem is None:
            for record in records:
                if record.entry.event in VERSION_EVENTS:
                    findings.extend(self._check_version(record, head.seq if head else 0))
                    newest[record.entry.env] = record.entry
        published = head.seq if head else 0
        for env in self.manifest.environments:
            findings.extend(self._check_current(env, newest.get(env), problem is None, published))
        return count, problem, findings

    def integrity_of(self, envs: Iterable[str]) -> list[Finding]:
        """The findings of the full check that concern ``envs`` or the whole ledger.

        The files backend compares sizes it can read locally; here the chain itself is read.
        """
        _, problem, findings = self.verify_integrity()
        if problem is not None:
            findings = [Finding("", f"ledger chain broken: {problem.message}"), *findings]
        wanted = {"", *envs}
        return [f for f in findings if f.env in wanted]

    def _check_version(self, record: _Record, published: int) -> list[Finding]:
        entry = record.entry
        try:
            self._checked_doc(record)
            stored = self._read_profile(entry.env, entry.version)
        except TamperError as exc:
            return [Finding(entry.env, exc.message)]
        where = self.settings.where(self.profile_path(entry.env))
        if stored is None:
            kind = "crash" if entry.seq > published else "tamper"
            return [Finding(entry.env, f"{where} has no version {entry.version}, written by ledger entry #{entry.seq}", kind=kind)]
        if stored.content_hash() != entry.profile:
            return [Finding(entry.env, f"{where} version {entry.version} does not match ledger entry #{entry.seq}: replaced")]
        return []

    def _check_current(self, env: str, entry: Entry | None, chain_ok: bool, published: int) -> list[Finding]:
        path = self.profile_path(env)
        where = self.settings.where(path)
        try:
            profile = self._read_profile(env)
            meta = self._metadata(env)
        except TamperError as exc:
            return [Finding(env, exc.message)]
        if profile is None:
            if entry is None:
                return []
            kind = "crash" if entry.seq > published else "tamper"
            return [Finding(env, f"{where} has no versions but the ledger's newest is {entry.version}", kind=kind)]
        findings: list[Finding] = []
        if meta is not None:
            if int(meta.get("max_versions", 0)) != KEEP_VERSIONS:
                keep = meta.get("max_versions") or "the mount default of"
                findings.append(Finding(env, f"{where} keeps only {keep} versions: old ones would be pruned", kind="crash"))
            if not meta.get("cas_required"):
                findings.append(Finding(env, f"{where} does not require check-and-set", kind="crash"))
            for number, info in sorted((meta.get("versions") or {}).items(), key=lambda kv: int(kv[0])):
                if info.get("deletion_time") or info.get("destroyed"):
                    findings.append(Finding(env, f"{where} version {number} was deleted or destroyed in OpenBao"))
        if entry is None:
            if chain_ok:
                message = f"{where} has version {profile.version} but the ledger records no change to {env}: written outside envman"
                findings.append(Finding(env, message))
            return findings
        if profile.version < entry.version:
            kind = "crash" if entry.seq > published else "tamper"
            findings.append(Finding(env, f"{where} is at version {profile.version} but the ledger's newest is {entry.version}", kind=kind))
        elif profile.version > entry.version:
            message = f"{where} is at version {profile.version} but the ledger's newest is {entry.version}: written outside envman"
            findings.append(Finding(env, message))
        elif profile.content_hash() != entry.profile:
            findings.append(Finding(env, f"{where} does not match ledger entry #{entry.seq}: written outside envman"))
        elif (profile.ledger_seq, profile.ledger_hash) != (entry.seq, entry.hash):
            message = f"{where} points at ledger entry #{profile.ledger_seq}, but version {entry.version} was written by #{entry.seq}"
            findings.append(Finding(env, message))
        return findings

    def repair(self) -> list[str]:
        """Complete interrupted writes: roll versions forward, republish the head, restore path settings."""
        done: list[str] = []
        found = self._read_head()
        old, kv_version = found if found is not None else (None, 0)
        records, problem = self._all_records(old.seq if old else 0)
        _, _, chain = check_chain(r.line for r in records)
        problem = chain or problem
        if problem is not None:
            raise TamperError(f"cannot repair: {problem.message}", "restore the ledger secrets from a backup of the OpenBao storage")
        head = Head()
        for record in records:
            head = advance(head, record.entry, len(record.line) + 1)
        newest: dict[str, list[_Record]] = {}
        for record in records:
            if record.entry.event in VERSION_EVENTS:
                newest.setdefault(record.entry.env, []).append(record)
        for env, env_records in newest.items():
            before = self._read_profile(env)
            have = before.version if before is not None else 0
            target = env_records[-1].entry.version
            if have > target:
                raise TamperError(
                    f"cannot repair {env}: OpenBao holds version {have} but the ledger ends at {target}", "it was written outside envman"
                )
            if have < target:
                self._roll_forward(env, env_records)
                done.append(f"{env}: completed versions {have + 1} to {target} from the ledger")
            meta = self._metadata(env) or {}
            if int(meta.get("max_versions", 0)) != KEEP_VERSIONS or not meta.get("cas_required"):
                self._protect(env)
                done.append(f"{env}: set max_versions={KEEP_VERSIONS} and cas_required on its profile path")
        if old != head and (records or old is not None):
            self._publish(head, kv_version)
            done.append(f"republished the ledger head from {len(records)} entries")
        return done + manifest_keys_from(self.manifest, head)

    def describe(self) -> dict[str, Any]:
        """Where the data lives (no request is made)."""
        return {
            "backend": self.settings.kind, "location": f"{self.settings.address or '(no address)'} {self.settings.where()}",
            "address": self.settings.address, "address_from": self.settings.address_from,
            "mount": self.mount, "prefix": self.prefix, "namespace": self.settings.namespace,
        }

    def probe(self) -> dict[str, Any]:
        """Reachability, token validity and access to the prefix, as data for `envman backend status`."""
        import hvac.exceptions as hx
        import requests  # type: ignore[import-untyped,unused-ignore]

        out: dict[str, Any] = {**self.describe(), "reachable": False, "token": {"valid": False}}
        try:
            client = self.client()
        except EnvmanError as exc:
            out["error"] = str(exc)
            return out
        out["token"]["source"] = self.token_source
        try:
            health = client.sys.read_health_status(method="GET")
            if isinstance(health, dict):
                out["reachable"] = True
                out["server"] = {"version": health.get("version", ""), "sealed": bool(health.get("sealed"))}
            else:
                out["reachable"] = True
                out["server"] = {"status": getattr(health, "status_code", 0)}
        except requests.exceptions.RequestException:
            out["error"] = f"cannot reach {self.settings.address}"
            return out
        except hx.VaultError as exc:
            out["reachable"] = True
            out["error"] = f"health check failed: {_first_error(exc)}"
        try:
            data = client.auth.token.lookup_self()["data"]
        except (hx.Forbidden, hx.Unauthorized):
            out["error"] = f"the token from {self.token_source} is invalid or expired"
            return out
        except (hx.VaultError, requests.exceptions.RequestException) as exc:
            out["error"] = f"token lookup failed ({type(exc).__name__})"
            return out
        # the lookup's "id" is the token itself: copy only harmless fields
        out["token"].update(valid=True, display_name=data.get("display_name", ""), policies=list(data.get("policies") or []),
                            ttl=int(data.get("ttl") or 0), expire_time=data.get("expire_time") or "")
        path = f"{self.mount}/data/{self.prefix}/profiles/x"
        try:
            caps = client.sys.get_capabilities(paths=[path])
            found = caps.get("capabilities") or caps.get("data", {}).get(path) or caps.get(path) or []
            out["capabilities"] = sorted(found)
        except (hx.VaultError, requests.exceptions.RequestException, AttributeError, TypeError):
            out["capabilities"] = []
        try:
            head = self.head()
            out["ledger"] = {"entries": head.seq, "versions": head.versions}
        except EnvmanError as exc:
            out["ledger_error"] = str(exc)
        return out

    # -- copying (used by `envman backend migrate`) ----------------------------
    def import_entry(self, line: bytes, entry: Entry, profile: Profile | None) -> None:
        """Store one ledger entry exactly as given (and the version it made), after the entries before it."""
        record = _Record(line, entry, profile_doc(profile) if profile is not None else None)
        if profile is not None and entry.version == 1:
            self._protect(entry.env)
        if not self._append(record):
            raise ConflictError(
                f"ledger entry #{entry.seq} already exists in {self.settings.where()}",
                "someone writes there: stop them and re-run the migration",
            )
        if record.doc is not None:
            self._put_version(entry.env, record.doc, entry.version)

    def publish_head(self) -> None:
        """Publish the head of everything imported."""
        found = self._read_head()
        old, kv_version = found if found is not None else (Head(), 0)
        head, _ = self._scan()
        if head != old:
            self._publish(head, kv_version)


class OpenBaoTransaction:
    """Writes in the order ledger entry → profile → head, each guarded by check-and-set."""

    def __init__(self, store: OpenBaoStore, head: Head, head_version: int) -> None:
        self.store = store
        self.head = head
        self.head_version = head_version
        self.base: dict[str, int] = {}  # env -> version the caller read

    @cached_property
    def actor(self) -> str:
        from envman.store.files import current_actor

        return current_actor()

    def current(self, env: str) -> Profile:
        store = self.store
        store.manifest.require_env(env)
        where = f"OpenBao {store.settings.where(store.profile_path(env))}"
        profile = store._read_profile(env) or empty_profile(store.manifest.project, env)
        for _ in range(_RETRIES):
            expected = self.head.versions.get(env, 0)
            if profile.version == expected:
                self.base[env] = profile.version
                return profile
            if profile.version < expected:
                # heads are published only after their profiles, so this is not a race
                raise TamperError(f"{where} is at version {profile.version}, the ledger's is {expected}",
                                  "versions were removed outside envman; " + _VERIFY_HINT)
            # newer than the head we read: writers committed since (or stopped before publishing
            # the head); take their entries in, completing any unfinished one, and look again
            self.head, applied = store.catch_up(self.head)
            if not any(e.env == env and e.event in VERSION_EVENTS for e in applied):
                raise TamperError(f"{where} has version {profile.version}, which no ledger entry wrote",
                                  "it was written outside envman; " + _VERIFY_HINT)
            profile = store._read_profile(env) or profile
        raise ConflictError(f"{env} kept changing while envman was reading it", "re-run the command")

    def _commit_entry(self, build: Callable[[], tuple[_Record, Profile | None]], env: str, guard: bool) -> tuple[_Record, Profile | None]:
        """Append the entry ``build()`` makes for the current head, moving past entries others committed."""
        for _ in range(_RETRIES):
            record, profile = build()
            try:
                appended = self.store._append(record)
            except _Unreachable as exc:
                raise StoreError(
                    f"{exc.message} (ledger entry #{record.entry.seq} may or may not have been recorded)",
                    "once OpenBao answers, `envman history --limit 1` shows it; an unfinished change is completed "
                    "by the next envman command that writes, or by `envman repair`",
                ) from None
            if appended:
                return record, profile
            self.head, others = self.store.catch_up(self.head)
            clash = [e for e in others if guard and e.env == env and e.event in VERSION_EVENTS]
            if clash:
                who = clash[-1]
                raise ConflictError(
                    f"{env} was changed by someone else while you were working (#{who.seq} by {who.actor}: {env}@{who.version})",
                    "re-run the command",
                )
        raise ConflictError("the ledger kept changing while envman was writing", "re-run the command")

    def _finish(self, record: _Record, work: Callable[[], None]) -> None:
        """Everything after the commit point: a failure there leaves a change the next writer completes."""
        with after_commit(record.entry, until="OpenBao is reachable", catch=EnvmanError):
            work()
            self.head = advance(self.head, record.entry, len(record.line) + 1)
            self.head, self.head_version = self.store._publish(self.head, self.head_version)

    def commit(
        self, draft: Profile, event: str, *, changed: list[str], keys: dict[str, str], detail: dict[str, Any]
    ) -> tuple[Profile, Entry]:
        """Write ``draft`` as the next version of its environment, with its ledger entry."""
        from envman.store.files import now_utc

        env = self.store.manifest.require_env(draft.env)
        base = self.base.get(env, self.head.versions.get(env, 0))
        if base == 0:
            # settings first, so a token that may not set them fails before anything is committed
            self.store._protect(env)

        def build() -> tuple[_Record, Profile | None]:
            if self.head.versions.get(env, 0) != base:
                raise ConflictError(f"{env} was changed by someone else while you were working", "re-run the command")
            if event != "rekey":
                self.head.check_public_key(self.store.manifest, env)
            number, seq = base + 1, self.head.seq + 1
            profile = draft._replace(version=number, ledger_seq=seq, ledger_hash="")
            entry = Entry(
                seq=seq, time=now_utc(), actor=self.actor, event=event, env=env, version=number, changed=tuple(changed),
                keys=keys, profile=profile.content_hash(), detail=detail, prev=self.head.hash,
            )
            line, digest = encode(entry)
            profile = profile._replace(ledger_hash=digest)
            return _Record(line[:-1], entry._replace(hash=digest), profile_doc(profile)), profile

        record, profile = self._commit_entry(build, env, guard=True)
        assert profile is not None and record.doc is not None
        doc = record.doc
        self._finish(record, lambda: self.store._put_version(env, doc, record.entry.version))
        self.base[env] = record.entry.version
        return profile, record.entry

    def record(
        self, event: str, env: str, version: int, *, profile: str = "", detail: dict[str, Any] | None = None,
        changed: list[str] | None = None, keys: Mapping[str, str] | None = None,
    ) -> Entry:
        """Append an event that does not change any values (verify, mark-good, export...)."""
        from envman.store.files import now_utc

        def build() -> tuple[_Record, Profile | None]:
            entry = Entry(
                seq=self.head.seq + 1, time=now_utc(), actor=self.actor, event=event, env=env, version=version,
                changed=tuple(changed or ()), keys=keys or {}, profile=profile, detail=detail or {}, prev=self.head.hash,
            )
            line, digest = encode(entry)
            return _Record(line[:-1], entry._replace(hash=digest), None), None

        record, _ = self._commit_entry(build, env, guard=False)
        self._finish(record, lambda: None)
        return record.entry


def _first_error(exc: Any) -> str:
    errors = getattr(exc, "errors", None)
    text = str(errors[0]) if isinstance(errors, list) and errors else type(exc).__name__
    return " ".join(text.split())[:200]


__all__ = ["GENESIS", "KEEP_VERSIONS", "BaoSettings", "OpenBaoStore", "OpenBaoTransaction", "check_kv_path", "find_token", "read_settings"]
