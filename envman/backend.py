"""Where a project's versions and ledger live, and moving them: `envman backend status` / `migrate`.

Library only (no click, no printing). hvac is imported only when an OpenBao/Vault
store is involved, through ``envman.store.openbao``.

A migration copies every ledger entry byte for byte (same hashes, same chain)
and every version exactly, verifies the copy — every version's content hash,
every ledger line, the target's own integrity check — and only then switches
``[backend]`` in envman.toml. The source is left as it was. A target that
already holds an earlier copy (a prefix of the same ledger, e.g. an interrupted
migration, or the files left behind by a migration to OpenBao) is completed
rather than refused; any other non-empty target is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from envman.errors import InvalidValue, StoreError, TamperError, UsageError
from envman.ledger import VERSION_EVENTS, Entry, encode

if TYPE_CHECKING:
    from envman.manifest import Manifest
    from envman.profile import Profile
    from envman.store import Store

KINDS = ("files", "openbao", "vault")
_ROUNDS = 5  # copy again while the source keeps moving, then give up


def backend_status(manifest: Manifest) -> tuple[dict[str, Any], bool]:
    """Where the data lives and, for a server, whether it answers and the token is valid."""
    from envman.store import open_store

    store = open_store(manifest)
    if manifest.backend.get("type", "files") == "files":
        head = store.head()
        return {**store.describe(), "ledger": {"entries": head.seq, "versions": head.versions}}, True
    from envman.store.openbao import OpenBaoStore

    assert isinstance(store, OpenBaoStore)
    data = store.probe()
    ok = bool(data.get("reachable")) and bool(data["token"].get("valid")) and "error" not in data
    return data, ok


def target_table(
    manifest: Manifest, to: str, *, address: str | None = None, mount: str | None = None,
    prefix: str | None = None, namespace: str | None = None,
) -> dict[str, Any]:
    """The ``[backend]`` table after a migration to ``to`` (validated; no request is made)."""
    if to not in KINDS:
        raise UsageError(f"unknown backend {to!r}", f"use one of: {', '.join(KINDS)}")
    if to == "files":
        if any(v is not None for v in (address, mount, prefix, namespace)):
            raise UsageError("--address, --mount, --prefix and --namespace apply to an OpenBao target", "drop them with --to files")
        return {"type": "files"}
    from envman.store.openbao import check_kv_path, read_settings

    # settings such as tls_verify already in [backend] carry over; the options win
    table = {k: v for k, v in manifest.backend.items() if k != "type"}
    table["type"] = to
    for key, value in (("address", address), ("namespace", namespace)):
        if value is not None:
            table[key] = value
    table["mount"] = check_kv_path(mount, "mount") if mount is not None else table.get("mount", "secret")
    table["prefix"] = check_kv_path(prefix, "prefix") if prefix is not None else table.get("prefix", f"envman/{manifest.project}")
    read_settings(manifest, table)
    return table


@dataclass
class MigrateResult:
    """What a migration did."""

    source: dict[str, Any]
    target: dict[str, Any]
    entries: int  # ledger entries in the target after the copy
    copied: int  # entries copied by this run (the rest were already there)
    versions: int  # versions verified
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "entries": self.entries, "copied": self.copied,
                "versions": self.versions, "notes": self.notes}


def _same_place(a: dict[str, Any], b: dict[str, Any], manifest: Manifest) -> bool:
    kinds = (str(a.get("type", "files")), str(b.get("type", "files")))
    if "files" in kinds:
        return kinds[0] == kinds[1]
    from envman.store.openbao import read_settings

    sa, sb = read_settings(manifest, a), read_settings(manifest, b)
    return (sa.address, sa.namespace, sa.mount, sa.prefix) == (sb.address, sb.namespace, sb.mount, sb.prefix)


def _store_for(manifest: Manifest, table: dict[str, Any]) -> Store:
    from envman.store import open_store

    return open_store(manifest._replace(backend=table))


def _require_intact(store: Store, what: str) -> None:
    _, problem, findings = store.verify_integrity()
    if problem is not None:
        raise TamperError(f"the {what} store's ledger is broken: {problem.message}", "run `envman ledger verify`; nothing was copied")
    tampered = [f for f in findings if f.kind != "crash"]
    if tampered:
        first = tampered[0]
        raise TamperError(f"the {what} store has problems: {(first.env + ': ') if first.env else ''}{first.message}",
                          "run `envman ledger verify`; nothing was copied")
    if findings:
        if what == "current":
            raise StoreError(f"the current store has an interrupted write: {findings[0].message}", "run `envman repair` first")
        store.repair()


class _FilesTarget:
    """Writes copied entries into ``environments/`` in the file store's own order and format."""

    def __init__(self, store: Any) -> None:
        self.store = store

    @contextmanager
    def open(self) -> Iterator[_FilesTarget]:
        from envman.fsutil import exclusive_lock

        self.store.dir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.store.lock_path):
            yield self
        self.store.repair()  # rebuilds ledger.head from the copied ledger (takes the lock itself)

    def add(self, line: bytes, entry: Entry, profile: Profile | None) -> None:
        from envman.fsutil import append_durable, atomic_write

        data = profile.to_toml() if profile is not None else b""
        if profile is not None:
            path = self.store.version_path(entry.env, entry.version)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data)
        append_durable(self.store.ledger_path, line)
        if profile is not None:
            atomic_write(self.store.profile_path(entry.env), data)


class _BaoTarget:
    def __init__(self, store: Any) -> None:
        self.store = store

    @contextmanager
    def open(self) -> Iterator[_BaoTarget]:
        yield self
        self.store.publish_head()

    def add(self, line: bytes, entry: Entry, profile: Profile | None) -> None:
        self.store.import_entry(line[:-1], entry, profile)


def _copy(source: Store, target: Store, kind: str, have: int) -> tuple[int, list[Entry]]:
    """Copy the source's entries after the first ``have``; returns (copied, all source entries)."""
    entries = list(source.entries())
    writer: _FilesTarget | _BaoTarget = _FilesTarget(target) if kind == "files" else _BaoTarget(target)
    copied = 0
    with writer.open():
        for entry in entries[have:]:
            line, digest = encode(entry)
            if digest != entry.hash:
                raise TamperError(
                    f"ledger entry #{entry.seq} cannot be reproduced byte for byte", "run `envman ledger verify`; nothing was switched"
                )
            profile = source.version(entry.env, entry.version) if entry.event in VERSION_EVENTS else None
            writer.add(line, entry, profile)
            copied += 1
    return copied, entries


def _verify_copy(source: Store, target: Store, entries: list[Entry], manifest: Manifest) -> int:
    """Every ledger line and every version of the target equals the source's; returns the versions checked."""
    theirs = [e.hash for e in target.entries()]
    if theirs != [e.hash for e in entries]:
        raise StoreError("the copied ledger differs from the source", "nothing was switched; re-run the migration")
    versions = 0
    for entry in entries:
        if entry.event not in VERSION_EVENTS:
            continue
        a, b = source.version(entry.env, entry.version), target.version(entry.env, entry.version)
        if a.to_toml() != b.to_toml() or b.content_hash() != entry.profile:
            raise StoreError(
                f"the copy of {entry.env} version {entry.version} differs from the source", "nothing was switched; re-run the migration"
            )
        versions += 1
    for env in manifest.environments:
        if source.current(env).to_toml() != target.current(env).to_toml():
            raise StoreError(f"the copy's current {env} differs from the source", "nothing was switched; re-run the migration")
    _, problem, findings = target.verify_integrity()
    if problem is not None or findings:
        what = problem.message if problem is not None else findings[0].message
        raise StoreError(f"the copy does not pass its integrity check: {what}", "nothing was switched; re-run the migration")
    return versions


def _switch(manifest: Manifest, table: dict[str, Any]) -> None:
    from envman.manifest import edit_manifest

    def edit(doc: Any) -> None:
        import tomlkit

        backend = doc.get("backend")
        if backend is None:
            backend = tomlkit.table()
            doc["backend"] = backend
        for key in [k for k in backend if k not in table]:
            del backend[key]
        for key, value in table.items():
            backend[key] = value

    edit_manifest(manifest.root, edit)


def migrate(
    manifest: Manifest, to: str, *, address: str | None = None, mount: str | None = None,
    prefix: str | None = None, namespace: str | None = None,
) -> MigrateResult:
    """Copy every version and the ledger to another backend, verify the copy, then switch envman.toml to it."""
    current = dict(manifest.backend) or {"type": "files"}
    if current.get("type", "files") not in KINDS:
        raise InvalidValue(f"envman.toml: unknown backend type {current.get('type')!r}", "use \"files\" or \"openbao\"")
    table = target_table(manifest, to, address=address, mount=mount, prefix=prefix, namespace=namespace)
    if _same_place(current, table, manifest):
        raise UsageError(f"envman.toml already uses this {to} store", "nothing to migrate")
    source = _store_for(manifest, current)
    target = _store_for(manifest, table)
    _require_intact(source, "current")
    existing = [e.hash for e in target.entries()]
    notes: list[str] = []
    if existing:
        ours = [e.hash for e in source.entries()]
        if existing != ours[: len(existing)]:
            where = "environments/" if to == "files" else "the target prefix"
            raise UsageError(f"{where} already holds a different ledger", "move it away or pick another --prefix; nothing was copied")
        _require_intact(target, "target")
        notes.append(f"the target already held the first {len(existing)} entries (an earlier copy); copied the rest")
    copied, entries = 0, list[Entry]()
    for _ in range(_ROUNDS):
        more, entries = _copy(source, target, to, len(existing) + copied)
        copied += more
        if source.head().seq == len(entries):
            break
    else:
        raise StoreError("the source store kept changing during the migration", "ask everyone to stop writing, then re-run (it resumes)")
    versions = _verify_copy(source, target, entries, manifest)
    _switch(manifest, table)
    if to != "files":
        settings = getattr(target, "settings", None)
        if settings is not None and "address" not in table and settings.address_from:
            notes.append(f"the address came from {settings.address_from}; pass --address to record it in envman.toml")
        if current.get("type", "files") == "files":
            notes.append("environments/ is no longer read; keep it in git as the pre-migration copy or remove it")
    return MigrateResult(source.describe(), target.describe(), len(entries), copied, versions, notes)
