"""Who answers for a credential and when it is due for rotation: what `status` and `owner` show.

Kept apart from lifecycle so `envman status` does not load the promote/rollback machinery.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from envman.ops import effective_meta
from envman.profile import VarMeta
from envman.records import Record

if TYPE_CHECKING:
    from envman.ops import Project
    from envman.profile import Profile


def parse_time(text: str) -> datetime | None:
    """A ledger/profile time (``2026-01-31T12:00:00Z``, or any ISO 8601 time) as an aware datetime, or None."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def due_date(rotated_at: str, days: int) -> str:
    """The date (``YYYY-MM-DD``) a rotation is due, or '' without a period or a rotation time."""
    when = parse_time(rotated_at)
    if when is None or days <= 0:
        return ""
    return (when + timedelta(days=days)).date().isoformat()


class Credential(Record):
    """Ownership and rotation facts of one variable in one environment (masked; safe to print)."""

    env: str
    name: str
    secret: bool
    shown: str  # masked secret or plain value; '' when not set
    owner: str
    rotation_method: str
    rotation_days: int
    rotated_at: str
    note: str
    has_rollback: bool
    next_due: str
    age_days: int | None
    overdue: bool
    from_schema: tuple[str, ...]  # fields filled from envman.toml's defaults, not recorded for this environment

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.env, "name": self.name, "secret": self.secret, "value": self.shown,
            "owner": self.owner, "rotation_method": self.rotation_method, "rotation_days": self.rotation_days,
            "rotated_at": self.rotated_at, "age_days": self.age_days, "next_due": self.next_due,
            "overdue": self.overdue, "rollback_value": self.has_rollback, "note": self.note,
            "from_schema": list(self.from_schema),
        }


def credential(project: Project, profile: Profile, var: str, *, now: datetime | None = None) -> Credential:
    """The ownership and rotation facts of ``var`` in ``profile``, with its age and due date."""
    now = now or datetime.now(UTC)
    own = profile.meta.get(var, VarMeta())
    meta = effective_meta(project, profile, var)
    record = profile.secrets.get(var)
    shown = record.masked if record is not None else profile.values.get(var, "")
    rotated = parse_time(meta.rotated_at)
    due = due_date(meta.rotated_at, meta.rotation_days)
    from_schema = tuple(k for k in ("owner", "rotation_method", "rotation_days") if getattr(meta, k) and not getattr(own, k))
    return Credential(
        env=profile.env, name=var, secret=record is not None, shown=shown, owner=meta.owner,
        rotation_method=meta.rotation_method, rotation_days=meta.rotation_days, rotated_at=meta.rotated_at,
        note=meta.note, has_rollback=meta.rollback is not None, next_due=due,
        age_days=(now - rotated).days if rotated else None,
        overdue=bool(due) and due < now.date().isoformat(), from_schema=from_schema,
    )


