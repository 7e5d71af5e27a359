"""Storage backends behind one interface: the rest of envman does not know which it talks to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from envman.ledger import ChainProblem, Entry
    from envman.manifest import Manifest
    from envman.profile import Profile


@dataclass(frozen=True)
class Head:
    """The newest ledger entry plus indexes derived from the ledger (rebuildable)."""

    seq: int = 0
    hash: str = "0" * 64
    size: int = 0
    versions: dict[str, int] = field(default_factory=dict)  # env -> newest version
    good: dict[str, list[list[int]]] = field(default_factory=dict)  # env -> [[version, seq], ...]


@dataclass(frozen=True)
class Finding:
    """An integrity problem found by ``verify_integrity``."""

    env: str
    message: str
    hint: str = "run `envman ledger verify` for details; `envman repair` restores a consistent state"
    kind: str = "tamper"  # tamper | crash


class Transaction(Protocol):
    """A locked read-modify-write: readers see either the old or the new state."""

    def current(self, env: str) -> Profile: ...

    def commit(
        self, draft: Profile, event: str, *, changed: list[str], keys: dict[str, str], detail: dict[str, Any]
    ) -> tuple[Profile, Entry]: ...

    def record(self, event: str, env: str, version: int, *, profile: str = "", detail: dict[str, Any] | None = None,
               changed: list[str] | None = None, keys: dict[str, str] | None = None) -> Entry: ...


class Store(Protocol):
    """What envman needs from a backend."""

    manifest: Manifest

    def current(self, env: str) -> Profile: ...

    def version(self, env: str, number: int) -> Profile: ...

    def head(self) -> Head: ...

    def entries(self) -> Iterator[Entry]: ...

    def entries_newest_first(self) -> Iterator[Entry]: ...

    def transaction(self) -> AbstractContextManager[Transaction]: ...

    def verify_integrity(self) -> tuple[int, ChainProblem | None, list[Finding]]: ...

    def repair(self) -> list[str]: ...

    def describe(self) -> dict[str, Any]: ...


def open_store(manifest: Manifest) -> Store:
    """The backend named in envman.toml ``[backend] type`` (files by default)."""
    kind = manifest.backend.get("type", "files")
    if kind == "files":
        from envman.store.files import FileStore

        return FileStore(manifest)
    if kind in ("openbao", "vault"):
        from envman.store.openbao import OpenBaoStore  # type: ignore[import-not-found,unused-ignore]

        return OpenBaoStore(manifest)  # type: ignore[no-any-return,unused-ignore]
    from envman.errors import InvalidValue

    raise InvalidValue(f"envman.toml: unknown backend type {kind!r}", "use \"files\" or \"openbao\"")
