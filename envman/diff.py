"""Pure comparison of two profiles, variable by variable.

Secrets are compared by fingerprint (salted per project, so equal values give
equal fingerprints in every environment) and only their masked form is kept:
a diff needs no private key and can never reveal a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envman.records import Record

if TYPE_CHECKING:
    from envman.profile import Profile

ADDED = "added"  # only in the new side
REMOVED = "removed"  # only in the old side
CHANGED = "changed"
SAME = "same"
# The same secret held by two different environments: a problem, never "same".
SHARED = "shared-secret"
STATUSES = (ADDED, REMOVED, CHANGED, SHARED, SAME)


class Side(Record):
    """One variable on one side of a diff: a plain value, or a secret's masked form and fingerprint."""

    secret: bool
    shown: str  # the plain value, or the masked secret
    fingerprint: str = ""

    def as_dict(self) -> dict[str, Any]:
        if self.secret:
            return {"secret": True, "masked": self.shown, "fingerprint": self.fingerprint}
        return {"secret": False, "value": self.shown}


class VarDiff(Record):
    """How one variable differs between the old and the new side."""

    name: str
    status: str  # one of STATUSES
    old: Side | None
    new: Side | None

    @property
    def secret(self) -> bool:
        return any(s is not None and s.secret for s in (self.old, self.new))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status,
            "old": self.old.as_dict() if self.old else None, "new": self.new.as_dict() if self.new else None,
        }


class ProfileDiff(Record):
    """The variable-by-variable comparison of ``old`` (A) with ``new`` (B)."""

    old_env: str
    old_version: int
    new_env: str
    new_version: int
    vars: tuple[VarDiff, ...]  # every name of either side, sorted

    @property
    def differences(self) -> tuple[VarDiff, ...]:
        """Every variable that is not plainly the same (shared secrets included)."""
        return tuple(v for v in self.vars if v.status != SAME)

    @property
    def empty(self) -> bool:
        return not self.differences

    def names(self, *statuses: str) -> list[str]:
        """Names of the variables with one of ``statuses`` (default: every difference)."""
        wanted = statuses or tuple(s for s in STATUSES if s != SAME)
        return [v.name for v in self.vars if v.status in wanted]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for v in self.vars if v.status == s) for s in STATUSES}

    def as_dict(self) -> dict[str, Any]:
        return {
            "old": {"environment": self.old_env, "version": self.old_version},
            "new": {"environment": self.new_env, "version": self.new_version},
            "equal": self.empty,
            "counts": self.counts(),
            "variables": [v.as_dict() for v in self.vars],
        }


def side(profile: Profile, name: str) -> Side | None:
    """``name`` as stored in ``profile``, reduced to what may be shown without a key."""
    record = profile.secrets.get(name)
    if record is not None:
        return Side(True, record.masked, record.fingerprint)
    if name in profile.values:
        return Side(False, profile.values[name])
    return None


def compare(name: str, old: Side | None, new: Side | None, *, cross_env: bool) -> VarDiff:
    """The status of one variable given its two sides."""
    if old is None and new is None:
        raise ValueError(f"{name} is on neither side")
    if old is None:
        return VarDiff(name, ADDED, old, new)
    if new is None:
        return VarDiff(name, REMOVED, old, new)
    if old.secret != new.secret:
        return VarDiff(name, CHANGED, old, new)
    if old.secret:
        same = bool(old.fingerprint) and old.fingerprint == new.fingerprint
        if same:
            return VarDiff(name, SHARED if cross_env else SAME, old, new)
        return VarDiff(name, CHANGED, old, new)
    return VarDiff(name, SAME if old.shown == new.shown else CHANGED, old, new)


def diff_profiles(old: Profile, new: Profile, *, cross_env: bool | None = None) -> ProfileDiff:
    """Compare two profiles; ``cross_env`` (default: the environments differ) flags equal secrets as shared."""
    if cross_env is None:
        cross_env = old.env != new.env
    names = sorted({*old.values, *old.secrets, *new.values, *new.secrets})
    return ProfileDiff(
        old.env, old.version, new.env, new.version,
        tuple(compare(n, side(old, n), side(new, n), cross_env=cross_env) for n in names),
    )
