"""The rules of `envman check` (E001-E011). Pure: reads profiles, never plaintext unless asked.

API (stable; callers such as `promote` rely on it):

    run_checks(project, envs=None, *, profiles=None, ignore=()) -> list[Finding]

``profiles`` maps an environment to a would-be profile to check instead of
its stored current version (promote checks its planned result this way).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envman.ops import Project
    from envman.profile import Profile


@dataclass(frozen=True)
class Finding:
    """One problem found by a rule."""

    rule: str  # "E001".."E011"
    severity: str  # "error" | "warning"
    env: str
    var: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "environment": self.env, "variable": self.var,
                "message": self.message, "fix": self.fix}


def run_checks(
    project: Project, envs: Iterable[str] | None = None, *, profiles: Mapping[str, Profile] | None = None,
    ignore: Iterable[str] = (),
) -> list[Finding]:
    """Every finding of every rule for ``envs`` (default: all environments)."""
    return []  # the rules land with the check-rules work
