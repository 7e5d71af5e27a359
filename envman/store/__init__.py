"""Storage backends behind one interface: the rest of envman does not know which it talks to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envman.records import Record

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from contextlib import AbstractContextManager
    from typing import Protocol

    from envman.errors import ConflictError
    from envman.ledger import ChainProblem, Entry
    from envman.manifest import Manifest
    from envman.profile import Profile


class Head(Record):
    """The newest ledger entry plus indexes derived from the ledger (rebuildable; never changed in place)."""

    seq: int = 0
    hash: str = "0" * 64
    size: int = 0
    versions: dict[str, int] = {}  # noqa: RUF012 - shared, never changed in place; env -> newest version
    good: dict[str, list[list[int]]] = {}  # noqa: RUF012 - shared, never changed in place; env -> [[version, seq], ...]
    keyed: dict[str, list[int]] = {}  # noqa: RUF012 - shared, never changed in place; env -> versions written by rekey
    keys: dict[str, str] = {}  # noqa: RUF012 - shared, never changed in place; env -> public key of its last rekey

    @classmethod
    def from_json(cls, data: Any) -> Head:
        """The head as stored (a JSON object); raises ValueError, KeyError, TypeError or AttributeError when malformed."""
        return cls(
            seq=int(data["seq"]), hash=str(data["hash"]), size=int(data["size"]),
            versions={str(k): int(v) for k, v in data["versions"].items()},
            good={str(k): [[int(a), int(b)] for a, b in v] for k, v in data["good"].items()},
            # absent in heads written before the first rekey
            keyed={str(k): [int(n) for n in v] for k, v in data.get("keyed", {}).items()},
            keys={str(k): str(v) for k, v in data.get("keys", {}).items()},
        )

    def key_changed_after(self, env: str, version: int) -> int | None:
        """The first version of ``env`` after ``version`` that `envman rekey` wrote (sealed for a new key pair), if any."""
        return next((n for n in self.keyed.get(env, ()) if n > version), None)

    def stale_key(self, manifest: Manifest, env: str) -> ConflictError | None:
        """The refusal to write ``env`` while envman.toml has a public key its last rekey replaced; None when it has the recorded one."""
        recorded = self.keys.get(env)
        if recorded is None or recorded == manifest.public_keys.get(env, "").strip():
            return None
        from envman.errors import ConflictError

        return ConflictError(
            f"envman.toml has a replaced public key for {env}: `envman rekey` gave it a new one at version {self.keyed[env][-1]}",
            "nothing was changed; update envman.toml (git pull) or run `envman repair`, then re-run",
        )

    def check_public_key(self, manifest: Manifest, env: str) -> None:
        """Refuse to write ``env`` with a public key in envman.toml that `envman rekey` replaced (values sealed for it)."""
        stale = self.stale_key(manifest, env)
        if stale is not None:
            raise stale


class Finding(Record):
    """An integrity problem found by ``verify_integrity``."""

    env: str
    message: str
    hint: str = "run `envman ledger verify` for details; `envman repair` restores a consistent state"
    kind: str = "tamper"  # tamper | crash


# Only for the type checker: building Protocol classes costs every command start-up time.
if TYPE_CHECKING:

    class Transaction(Protocol):
        """A locked read-modify-write: readers see either the old or the new state."""

        def current(self, env: str) -> Profile: ...

        def commit(
            self, draft: Profile, event: str, *, changed: list[str], keys: dict[str, str], detail: dict[str, Any]
        ) -> tuple[Profile, Entry]: ...

        def record(self, event: str, env: str, version: int, *, profile: str = "", detail: dict[str, Any] | None = None,
                   changed: list[str] | None = None, keys: Mapping[str, str] | None = None) -> Entry: ...


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

        def integrity_of(self, envs: Iterable[str]) -> list[Finding]: ...

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
