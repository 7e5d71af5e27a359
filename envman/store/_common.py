"""What both backends do alike: number versions, move the head past an entry, finish after the commit point.

Imported by ``envman.store.files``, so it stays as cheap as that module: the ledger
module (and the hashing it brings) is imported inside the functions that need it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from envman.errors import NotFound, StoreError, UsageError
from envman.profile import empty_profile
from envman.store import Head

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from envman.errors import EnvmanError
    from envman.ledger import Entry
    from envman.manifest import Manifest
    from envman.profile import Profile
    from envman.store import Finding, Store


def read_version(store: Store, env: str, number: int, read: Callable[[str, int], Profile | None]) -> Profile:
    """Version ``number`` of ``env`` as ``read(env, number)`` finds it (None: never written).

    Version 0 is the empty profile, before anything was set; versions are numbered from 1.
    """
    store.manifest.require_env(env)
    if number < 0:
        raise UsageError(f"invalid version {number}", "versions are numbered from 1")
    if number == 0:
        return empty_profile(store.manifest.project, env)
    profile = read(env, number)
    if profile is None:
        newest = store.head().versions.get(env, 0)
        raise NotFound(f"{env} has no version {number}", f"it has versions 1 to {newest}" if newest else f"{env} has no versions yet")
    return profile


def advance(head: Head, entry: Entry, length: int) -> Head:
    """``head`` moved past ``entry``, whose ledger line (with its line break) is ``length`` bytes long."""
    from envman.ledger import VERSION_EVENTS

    versions, good, keyed, keys = head.versions, head.good, head.keyed, head.keys
    if entry.event in VERSION_EVENTS:
        versions = {**versions, entry.env: entry.version}
    if entry.marks_good:
        good = {**good, entry.env: [*good.get(entry.env, []), [entry.version, entry.seq]]}
    if entry.event == "rekey":
        keyed = {**keyed, entry.env: [*keyed.get(entry.env, []), entry.version]}
        keys = {**keys, entry.env: str(entry.detail.get("public_key", ""))}
    return Head(seq=entry.seq, hash=entry.hash, size=head.size + length, versions=versions, good=good, keyed=keyed, keys=keys)


@contextmanager
def after_commit(entry: Entry, *, until: str, catch: type[EnvmanError] = StoreError) -> Iterator[None]:
    """Writes after the commit point: a failure there must not claim that nothing was changed.

    A ``catch`` error is raised again as the same class, saying that ``entry`` was
    recorded and that the next writer (or ``envman repair``) completes it once ``until``.
    """
    try:
        yield
    except catch as exc:
        raise type(exc)(
            f"{exc.message} (the change was recorded as ledger entry #{entry.seq} but not fully applied)",
            f"it is completed by the next envman command that writes, or by `envman repair`, once {until}",
        ) from None


def manifest_keys_from(manifest: Manifest, head: Head) -> list[str]:
    """Give envman.toml the public key each environment's last rekey recorded; what was changed (for repair)."""
    from envman.manifest import set_public_key

    return [
        f"{env}: envman.toml given the public key of its rekey at version {head.keyed[env][-1]}"
        for env, public in head.keys.items()
        if env in manifest.environments and public and set_public_key(manifest.root, env, public)
    ]


def stale_public_keys(manifest: Manifest, head: Head | None) -> list[Finding]:
    """Environments whose public key in envman.toml is not the one their last rekey recorded."""
    from envman.store import Finding

    stale = [(env, head.stale_key(manifest, env)) for env in head.keys] if head is not None else []
    return [Finding(env, error.message, "update envman.toml (git pull) or run `envman repair`") for env, error in stale if error]
