"""`envman verify ENV`: the environment's checks, then a live probe with its own values.

The probe uses the environment's base URL, key (decrypted in memory), default
model and timeout; which variables those are comes from ``[probe]`` in
envman.toml, else from the schema (the single variable of each type). Every
run that reaches the probe is one ``verify`` ledger entry; a passing one marks
the version known good. httpx is imported only by ``envman.probe``, when it runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from envman.checks import ERROR, Finding, run_checks
from envman.errors import InvalidValue, NotFound
from envman.records import Record
from envman.schema import is_var_name

if TYPE_CHECKING:
    from envman.ledger import Entry
    from envman.manifest import Manifest
    from envman.ops import Project
    from envman.probe import ProbeReport

DEFAULT_TIMEOUT_MS = 60_000  # when the schema has no duration_ms variable
DEFAULT_MODELS_ROUTE = "/models"
DEFAULT_CHAT_ROUTE = "/chat/completions"

# [probe] key -> (schema type, word that breaks a tie between several variables of that type)
_ROLES = {
    "base_url_var": ("url", "BASE_URL"),
    "api_key_var": ("secret", "API_KEY"),
    "model_var": ("model", "MODEL"),
    "timeout_var": ("duration_ms", "TIMEOUT"),
}


class ProbeTarget(Record):
    """Which variables feed the probe, and the routes it calls."""

    base_url_var: str
    api_key_var: str
    model_var: str
    timeout_var: str  # "" when the schema has none: DEFAULT_TIMEOUT_MS applies
    models_route: str = DEFAULT_MODELS_ROUTE
    chat_route: str = DEFAULT_CHAT_ROUTE


def _pick(manifest: Manifest, key: str) -> str:
    typ, word = _ROLES[key]
    named = manifest.probe.get(key)
    if named is not None:
        if not isinstance(named, str) or not is_var_name(named):
            raise InvalidValue(f"envman.toml: [probe] {key} must be a variable name", "e.g. base_url_var = \"ALLTKN_BASE_URL\"")
        if named not in manifest.variables:
            raise InvalidValue(f"envman.toml: [probe] {key} names {named}, which is not in the schema", "fix the name in [probe]")
        return named
    found = [n for n, s in manifest.variables.items() if s.type == typ]
    if len(found) > 1:
        found = [n for n in found if word in n] or found
    if len(found) == 1:
        return found[0]
    if not found and key == "timeout_var":
        return ""
    if not found:
        raise InvalidValue(f"the schema has no variable of type {typ} for the probe",
                           f"add one to envman.toml, or name it with [probe] {key} = \"NAME\"")
    raise InvalidValue(f"several variables of type {typ} could feed the probe: {', '.join(sorted(found))}",
                       f"choose one with [probe] {key} = \"NAME\" in envman.toml")


def _route(manifest: Manifest, key: str, default: str) -> str:
    route = manifest.probe.get(key, default)
    if not isinstance(route, str) or not route.startswith("/") or any(c.isspace() or c in "?#" for c in route):
        raise InvalidValue(f"envman.toml: [probe] {key} must be a path such as {default}", "fix it in [probe]")
    return route


def probe_target(manifest: Manifest) -> ProbeTarget:
    """The probe's variables and routes from ``[probe]``, defaulting by schema type."""
    return ProbeTarget(
        base_url_var=_pick(manifest, "base_url_var"),
        api_key_var=_pick(manifest, "api_key_var"),
        model_var=_pick(manifest, "model_var"),
        timeout_var=_pick(manifest, "timeout_var"),
        models_route=_route(manifest, "models_route", DEFAULT_MODELS_ROUTE),
        chat_route=_route(manifest, "chat_route", DEFAULT_CHAT_ROUTE),
    )


class VerifyResult(Record):
    """What verify found: the checks, the probe (None when checks stopped it) and its ledger entry."""

    env: str
    version: int
    target: ProbeTarget
    findings: tuple[Finding, ...]
    report: ProbeReport | None = None
    entry: Entry | None = None
    key_id: str = ""
    timeout_ms: int = 0
    model: str = ""

    @property
    def ok(self) -> bool:
        """True when the checks passed and every probe step passed (the version is now known good)."""
        return self.report is not None and self.report.ok

    @property
    def stage(self) -> str:
        """Where verify ended: ``check`` (an error finding stopped it) or ``probe``."""
        return "probe" if self.report is not None else "check"

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.env, "version": self.version, "ok": self.ok, "stage": self.stage,
            "checks": [f.as_dict() for f in self.findings],
            "probe": self.report.as_dict() if self.report is not None else None,
            "ledger_seq": self.entry.seq if self.entry is not None else None,
        }


def _masked(value: Any, secret: str, masked: str) -> Any:
    """``value`` with every occurrence of ``secret`` replaced (belt and braces before the ledger)."""
    if isinstance(value, str):
        return value.replace(secret, masked)
    if isinstance(value, dict):
        return {k: _masked(v, secret, masked) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v, secret, masked) for v in value]
    return value


def ledger_detail(report: ProbeReport, *, stream: bool) -> dict[str, Any]:
    """The ``verify`` entry's detail: outcome and each step, without values or the key."""
    steps = [{"step": s.step, "route": s.route, "model": s.model, "status": s.status, "latency": s.latency,
              "cause": s.cause, "started_at": s.started_at, "error": s.error} for s in report.steps]
    failed = report.failed_step
    detail: dict[str, Any] = {"ok": report.ok, "stream": stream, "timeout_ms": report.timeout_ms, "steps": steps}
    if failed is None:
        detail["summary"] = "passed: " + ", ".join(s.step for s in report.steps)
    else:
        detail.update(failed_step=failed.step, cause=failed.cause, summary=f"failed at {failed.step}: {failed.cause}")
    return detail


def verify(project: Project, env: str, *, stream: bool = True, ignore: Iterable[str] = ()) -> VerifyResult:
    """Check ``env``; if no error, probe its endpoint and record the outcome in the ledger."""
    manifest = project.manifest
    manifest.require_env(env)
    target = probe_target(manifest)
    profile = project.store.current(env)
    findings = tuple(run_checks(project, [env], profiles={env: profile}, ignore=ignore))
    if any(f.severity == ERROR for f in findings):
        return VerifyResult(env, profile.version, target, findings)

    def value(var: str) -> str:
        if var not in profile.values:
            raise NotFound(f"{var} is not set in {env}, so there is nothing to probe", f"set it with `envman set {env} {var}`")
        return profile.values[var]

    base_url, model = value(target.base_url_var), value(target.model_var)
    timeout_ms = int(value(target.timeout_var)) if target.timeout_var else DEFAULT_TIMEOUT_MS
    record = profile.secrets.get(target.api_key_var)
    if record is None:
        raise NotFound(f"{target.api_key_var} is not set in {env}, so there is no key to probe with",
                       f"set it with `printf %s \"$KEY\" | envman set {env} {target.api_key_var}`")
    secret = project.reveal(env, target.api_key_var, record)  # needs the private key; a Secret never prints itself

    from envman.probe import ProbeRoutes, probe

    # The stored masked form is the key id every other ledger entry uses for this key.
    report = probe(base_url, secret.reveal(), model, timeout_ms,
                   routes=ProbeRoutes(models=target.models_route, chat=target.chat_route),
                   stream=stream, mask=lambda _key: record.masked)
    detail = _masked(ledger_detail(report, stream=stream), secret.reveal(), record.masked)
    with project.store.transaction() as txn:
        entry = txn.record("verify", env, profile.version, profile=profile.content_hash(), detail=detail,
                           keys={target.api_key_var: record.masked})
    return VerifyResult(env, profile.version, target, findings, report, entry, record.masked, timeout_ms, model)
