"""What leaves envman for a deployment platform or a child process.

``export_items`` resolves one environment version into the names a target or
service expects (renames from envman.toml), decrypting secrets only when they
are included. Encoders live in ``envman.exporters``; this module decides what
goes in and records the export in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from envman.errors import InvalidValue, UsageError
from envman.records import Record
from envman.schema import is_var_name

if TYPE_CHECKING:
    from envman.exporters import ExportItem
    from envman.ops import Project
    from envman.profile import Profile


class Selection(Record):
    """Which variables, under which names."""

    only: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    secrets: bool = True
    service: str | None = None
    target: str | None = None
    plain: bool = True  # False: secrets only (a Kubernetes Secret next to a ConfigMap)


def service_table(project: Project, service: str) -> dict[str, Any]:
    """The ``[exports.<service>]`` table: ``rename = {NEW = "SOURCE"}``, optional format/only/exclude."""
    table = project.manifest.exports.get(service)
    if not isinstance(table, dict):
        known = ", ".join(sorted(project.manifest.exports)) or "none defined"
        raise InvalidValue(f"no [exports.{service}] in envman.toml", f"known services: {known}")
    return table


def renames(project: Project, sel: Selection) -> dict[str, list[str]]:
    """Source variable -> exported names, from the service table and ``export_as`` of the schema."""
    out: dict[str, list[str]] = {}
    if sel.service:
        rename = service_table(project, sel.service).get("rename", {})
        if not isinstance(rename, dict) or not all(isinstance(v, str) for v in rename.values()):
            raise InvalidValue(f"[exports.{sel.service}] rename must map NEW_NAME = \"SOURCE_VAR\"", "fix envman.toml")
        for new, source in rename.items():
            if not is_var_name(new):
                raise InvalidValue(f"[exports.{sel.service}] rename: invalid name {new!r}", "use upper-case letters, digits and '_'")
            out.setdefault(source, []).append(new)
    for spec in project.manifest.variables.values():
        for key in (sel.service, sel.target):
            if key and key in spec.export_as and spec.name not in out:
                out[spec.name] = [spec.export_as[key]]
    return out


def _names(raw: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for part in raw:
        out.update(n.strip() for n in part.split(",") if n.strip())
    return frozenset(out)


def selection(*, only: Iterable[str] = (), exclude: Iterable[str] = (), secrets: bool = True,
              service: str | None = None, target: str | None = None) -> Selection:
    """What to export; Kubernetes splits values: secrets into the Secret, plain values into the ConfigMap."""
    plain = target != "k8s-secret"
    if target == "k8s-configmap":
        secrets = False
    return Selection(_names(only), _names(exclude), secrets, service, target, plain)


class Export(Record):
    """Items ready for an encoder, and which variable each exported name comes from."""

    profile: Profile
    items: list[ExportItem]
    sources: dict[str, str]  # exported name -> variable

    def secret_ids(self) -> dict[str, str]:
        """Masked ids of the secrets included (for the ledger)."""
        return {self.sources[i.name]: self.profile.secrets[self.sources[i.name]].masked for i in self.items if i.secret}


def export_items(project: Project, profile: Profile, sel: Selection) -> Export:
    """The items to export from ``profile``: selected, renamed, secrets decrypted (one key agreement)."""
    from envman.exporters import ExportItem

    if sel.service:
        table = service_table(project, sel.service)
        only = sel.only or _names(table.get("only", []))
        exclude = sel.exclude | _names(table.get("exclude", []))
    else:
        only, exclude = sel.only, sel.exclude
    unknown = (only | exclude) - set(profile.names())
    if unknown:
        raise UsageError(f"not set in {profile.env}: {', '.join(sorted(unknown))}", "check --only/--exclude names with `envman show`")
    mapping = renames(project, sel)
    items: list[ExportItem] = []
    seen: dict[str, str] = {}
    for var in profile.names():
        if (only and var not in only) or var in exclude:
            continue
        secret = var in profile.secrets
        if (secret and not sel.secrets) or (not secret and not sel.plain):
            continue
        value = project.reveal(profile.env, var, profile.secrets[var]).reveal() if secret else profile.values[var]
        for name in mapping.get(var, [var]):
            if name in seen:
                raise InvalidValue(f"exported name {name} comes from both {seen[name]} and {var}", "fix the renames in envman.toml")
            seen[name] = var
            items.append(ExportItem(name, value, secret))
    return Export(profile, items, seen)


def record_export(project: Project, export: Export, fmt: str, destination: str) -> None:
    """Ledger entry: environment, version, format, destination and masked ids of the secrets included."""
    profile = export.profile
    with project.store.transaction() as txn:
        txn.record(
            "export", profile.env, profile.version, profile=profile.content_hash(), keys=export.secret_ids(),
            detail={"format": fmt, "destination": destination, "count": len(export.items)},
        )


def renames_for(project: Project, var: str) -> list[str]:
    """Every exported name ``var`` may take (across services and targets)."""
    names: list[str] = []
    for table in project.manifest.exports.values():
        if isinstance(table, dict):
            names.extend(n for n, s in dict(table.get("rename", {})).items() if s == var)
    spec = project.manifest.variables.get(var)
    if spec is not None:
        names.extend(spec.export_as.values())
    return names


def child_environment(base: dict[str, str], items: Iterable[ExportItem], *, override: bool) -> dict[str, str]:
    """The environment for ``envman run``: process variables win unless ``override``."""
    env = dict(base)
    for item in items:
        if override or item.name not in env:
            env[item.name] = item.value
    return env
