"""What leaves envman for a deployment platform or a child process.

``export_items`` resolves one environment version into the names a target or
service expects (renames from envman.toml), decrypting secrets only when they
are included. Encoders live in ``envman.exporters``; this module decides what
goes in and records the export in the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from envman.errors import InvalidValue, UsageError
from envman.records import Record
from envman.schema import is_var_name

if TYPE_CHECKING:
    from envman.crypto import Secret
    from envman.exporters import ExportItem
    from envman.ops import Project
    from envman.profile import ContentHasher, Profile, SecretRecord


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
    for key in (sel.service, sel.target):
        if key:
            for var, name in project.manifest.variables.export_names(key).items():
                out.setdefault(var, [name])
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


class Export:
    """The items of one export, made as the encoder consumes them, and what the ledger records of it.

    ``items`` is consumed once, in name order; each secret is decrypted only then, so a large
    profile is never held decrypted. ``keys`` (masked ids of the secrets included), ``count``
    and ``content_hash`` are complete once ``items`` was consumed.
    """

    def __init__(self, project: Project, profile: Profile, sel: Selection, only: frozenset[str], exclude: frozenset[str]) -> None:
        from envman.exporters._common import DistinctItems
        from envman.ledger import MaskedIds

        self.profile = profile
        self.keys = MaskedIds()
        self.count = 0
        self.content_hash = ""
        decrypt = project.decryptor(profile.env).decrypt if _includes_a_secret(profile, sel, only, exclude) else None
        # each name once: _items refuses a rename onto a name already exported
        self.items = DistinctItems(self._items(renames(project, sel), sel, only, exclude, decrypt))

    def _items(self, mapping: dict[str, list[str]], sel: Selection, only: frozenset[str], exclude: frozenset[str],
               decrypt: Callable[[str, str], Secret] | None) -> Iterator[ExportItem]:
        from envman.exporters import ExportItem
        from envman.profile import ContentHasher

        profile = self.profile
        hasher = ContentHasher(profile)
        # a name can clash only with a renamed one: only those are tracked
        targets = {name for names in mapping.values() for name in names}
        seen: dict[str, str] = {}
        for var, value, record in _rows(profile, hasher):
            if (only and var not in only) or var in exclude or (record is None and not sel.plain):
                continue
            if record is not None:
                if decrypt is None:
                    continue
                value = decrypt(var, record.ciphertext).reveal()
                self.keys.add(var, record.masked)
            for name in mapping.get(var, [var]):
                if name in targets:
                    if name in seen:
                        raise InvalidValue(f"exported name {name} comes from both {seen[name]} and {var}", "fix the renames in envman.toml")
                    seen[name] = var
                self.count += 1
                yield ExportItem(name, value, record is not None)
        self.content_hash = hasher.hexdigest()


def _includes_a_secret(profile: Profile, sel: Selection, only: frozenset[str], exclude: frozenset[str]) -> bool:
    """Whether the export holds a secret, so needs the private key (asked for before anything is encoded)."""
    secrets = profile.secrets
    if not sel.secrets or not secrets:
        return False
    if only:
        return any(name in secrets and name not in exclude for name in only)
    return len(exclude) < len(secrets) or any(name not in exclude for name in secrets)


def _rows(profile: Profile, hasher: ContentHasher) -> Iterator[tuple[str, str, SecretRecord | None]]:
    """(name, plain value, secret record) of every variable in name order, each secret fed to ``hasher`` as it passes."""
    values = iter(sorted(profile.values))
    plain = next(values, None)
    for name, record in profile.secrets_by_name():
        hasher.secret(name, record)
        while plain is not None and plain < name:
            yield plain, profile.values[plain], None
            plain = next(values, None)
        if plain == name:  # set as both (a hand edit): the secret wins, as everywhere else
            plain = next(values, None)
        yield name, "", record
    while plain is not None:
        yield plain, profile.values[plain], None
        plain = next(values, None)


def export_items(project: Project, profile: Profile, sel: Selection) -> Export:
    """The items to export from ``profile``: selected, renamed, secrets decrypted as consumed (one key agreement)."""
    if sel.service:
        table = service_table(project, sel.service)
        only = sel.only or _names(table.get("only", []))
        exclude = sel.exclude | _names(table.get("exclude", []))
    else:
        only, exclude = sel.only, sel.exclude
    unknown = [name for name in only | exclude if not profile.has(name)]
    if unknown:
        raise UsageError(f"not set in {profile.env}: {', '.join(sorted(unknown))}", "check --only/--exclude names with `envman show`")
    return Export(project, profile, sel, only, exclude)


def record_export(project: Project, export: Export, fmt: str, destination: str) -> None:
    """Ledger entry: environment, version, format, destination and masked ids of the secrets included."""
    profile = export.profile
    assert export.content_hash, "record an export once its items were consumed"
    with project.store.transaction() as txn:
        txn.record(
            "export", profile.env, profile.version, profile=export.content_hash, keys=export.keys,
            detail={"format": fmt, "destination": destination, "count": export.count},
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
