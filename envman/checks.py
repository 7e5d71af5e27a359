"""The rules of `envman check` (E001-E011). Pure: reads profiles, never plaintext.

API (stable; callers such as `promote` rely on it):

    run_checks(project, envs=None, *, profiles=None, ignore=()) -> list[Finding]

``profiles`` maps an environment to a would-be profile to check instead of
its stored current version (promote checks its planned result this way).
The value rules (E001-E009, E011 on values) work on whatever profile they are
given; the file rules (E010 integrity, E011 file modes) describe stored state.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envman.credentials import parse_time
from envman.errors import InvalidValue, TamperError, UsageError
from envman.names import NearMissIndex, is_near_miss, near_misses
from envman.profile import VarMeta
from envman.records import Record
from envman.schema import VarSpec, is_var_name, looks_secret, url_problem, validate_value

if TYPE_CHECKING:
    from envman.manifest import Manifest
    from envman.ops import Project
    from envman.profile import Profile

ERROR, WARNING = "error", "warning"


class Rule(Record):
    """A rule's stable id, a short name (used by SARIF) and its one-line summary."""

    id: str
    name: str
    summary: str


RULES: tuple[Rule, ...] = (
    Rule("E001", "SharedSecret", "two environments hold the same secret value (compared by fingerprint)"),
    Rule("E002", "BrowserPublicSecret", "a server-side secret is exported under a browser-public name (NEXT_PUBLIC_, VITE_...)"),
    Rule("E003", "NotAnApiRoot", "a URL variable points at an endpoint, a web page, carries a query, or has no scheme/host"),
    Rule("E004", "PlainHttp", "plain http outside the first environment of the promotion order"),
    Rule("E005", "SchemaMismatch", "a variable required by the schema is missing, or one outside the schema is present"),
    Rule("E006", "NearMissName", "a name is a near-miss spelling of a schema name"),
    Rule("E007", "BadValue", "a value has the wrong type or is out of range"),
    Rule("E008", "GoLiveGate", "a secret has no owner, no rotation method or no rollback value"),
    Rule("E009", "RotationDue", "a secret's rotation is overdue (or due soon) per its period"),
    Rule("E010", "ChangedOutsideEnvman", "a profile or the ledger was changed outside envman, or the chain is broken"),
    Rule("E011", "PlaintextSecret", "a secret is stored in plaintext, or a file holding plaintext is readable by others"),
)
RULE_IDS = frozenset(r.id for r in RULES)

# Prefixes that bundlers (Next.js, Vite, CRA, Nuxt, Expo, SvelteKit/Astro, Gatsby,
# Vue CLI, Storybook) inline into client code: anything named so reaches the browser.
PUBLIC_PREFIXES = (
    "NEXT_PUBLIC_", "VITE_", "REACT_APP_", "NUXT_PUBLIC_", "NUXT_ENV_", "EXPO_PUBLIC_",
    "PUBLIC_", "GATSBY_", "VUE_APP_", "STORYBOOK_",
)
# Endpoint paths an SDK appends itself; a base URL ending in one doubles the route.
ENDPOINT_SUFFIXES = (
    "/chat/completions", "/completions", "/embeddings", "/responses", "/models", "/v1/messages",
    "/images/generations", "/images/edits", "/images/variations", "/moderations",
    "/audio/speech", "/audio/transcriptions", "/audio/translations", "/rerank",
)
_PAGE_SEGMENTS = frozenset({"docs", "doc", "pricing", "login", "signin", "console", "dashboard", "playground", "blog", "home"})
_PAGE_EXTENSIONS = (".html", ".htm", ".php", ".asp", ".aspx", ".jsp")
_API_LABELS = ("api", "llm", "gateway", "inference", "openai")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})

# Timeouts: below a second a normal completion cannot finish; above ten minutes a
# hung request holds a worker; above a day it is a unit mistake.
MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, ABSURD_TIMEOUT_MS = 1_000, 600_000, 86_400_000
ROTATION_WARN_DAYS = 14

# Values that are credentials by their shape, whatever the variable is called
# (compiled on first use: most commands that import this module never need it).
_KEY_VALUE = (
    r"""\A(?:
        sk-[A-Za-z0-9_-]{16,}                      # OpenAI and compatible gateways, Anthropic (sk-ant-)
      | (?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}   # Stripe
      | gh[pousr]_[A-Za-z0-9]{30,} | github_pat_[A-Za-z0-9_]{30,}
      | glpat-[A-Za-z0-9_-]{20,}
      | xox[abposr]-[A-Za-z0-9-]{10,}
      | AKIA[0-9A-Z]{16}
      | AIza[0-9A-Za-z_-]{35}
      | hf_[A-Za-z0-9]{30,}
      | envman-sk1:
      | -----BEGIN\ [A-Z ]*PRIVATE\ KEY-----
    )"""
)
# .env files that conventionally hold no real values.
_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults", ".tpl")


class Finding(Record):
    """One problem found by a rule."""

    rule: str  # "E001".."E011"
    severity: str  # "error" | "warning"
    env: str  # "" for project-wide findings (schema, ledger, files)
    var: str  # "" when the finding is not about one variable
    message: str
    fix: str
    file: str = ""  # the file to look at, relative to the project root

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "environment": self.env, "variable": self.var,
                "message": self.message, "fix": self.fix, "file": self.file}


# Every shape above starts with one of these: most values are ruled out without compiling it.
_KEY_STARTS = ("sk", "rk_", "gh", "github_pat_", "glpat-", "xox", "AKIA", "AIza", "hf_", "envman-sk1:", "-----BEGIN ")


def looks_like_key(value: str) -> bool:
    """True for values shaped like a known credential (``sk-...``, ``ghp_...``, a PEM private key...)."""
    value = value.strip()
    return value.startswith(_KEY_STARTS) and re.match(_KEY_VALUE, value, re.VERBOSE) is not None


def public_prefix(name: str) -> str:
    """The browser-public prefix ``name`` starts with, or ''."""
    return next((p for p in PUBLIC_PREFIXES if name.startswith(p)), "")


# -- the rule context ------------------------------------------------------------------

class _Ctx(Record):
    manifest: Manifest
    profiles: dict[str, Profile]  # every environment that could be read
    selected: tuple[str, ...]
    now: datetime

    def spec(self, var: str) -> VarSpec:
        return self.manifest.spec_or_default(var)

    def checked(self) -> Iterator[tuple[str, Profile]]:
        for env in self.selected:
            if env in self.profiles:
                yield env, self.profiles[env]

    def profile_file(self, env: str) -> str:
        if self.manifest.backend.get("type", "files") != "files":
            return "envman.toml"
        return _rel(self.manifest.root, self.manifest.data_dir / f"{env}.toml")

    def meta(self, profile: Profile, var: str) -> VarMeta:
        # The schema's owner/rotation are defaults each environment may override.
        return profile.meta.get(var, VarMeta()).with_defaults(self.spec(var))


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _set_cmd(env: str, var: str, secret: bool) -> str:
    return f"`printf %s \"$VALUE\" | envman set {env} {var}`" if secret else f"`envman set {env} {var} VALUE`"


# -- E001 --------------------------------------------------------------------------------

def _e001_shared_secret(ctx: _Ctx) -> Iterator[Finding]:
    holders: dict[str, list[tuple[str, str]]] = {}
    for env, profile in ctx.profiles.items():
        for var, record in profile.secrets.items():
            holders.setdefault(record.fingerprint, []).append((env, var))
    order = {e: i for i, e in enumerate(ctx.manifest.environments)}
    for group in holders.values():
        if len({e for e, _ in group}) < 2:
            continue  # the same value twice inside one environment is not a shared key
        for env, var in group:
            if env not in ctx.selected:
                continue
            others = sorted({(e, v) for e, v in group if e != env}, key=lambda ev: (order.get(ev[0], 99), ev[1]))
            where = ", ".join(f"{e}/{v}" for e, v in others)
            yield Finding("E001", ERROR, env, var, f"{var} in {env} holds the same secret as {where}",
                          f"issue a separate key for {env} and store it with `envman rotate {env} {var}`")


# -- E002 --------------------------------------------------------------------------------

def exported_names(manifest: Manifest, var: str) -> list[tuple[str, str]]:
    """Every name ``var`` is exported under, with where that name comes from (its own name first)."""
    names = [(var, "its own name")]
    spec = manifest.variables.get(var)
    if spec is not None:
        names.extend((name, f"export_as.{target}") for target, name in spec.export_as.items())
    for service, table in manifest.exports.items():
        rename = table.get("rename") if isinstance(table, dict) else None
        if isinstance(rename, dict):  # [exports.<service>] rename = { NEW_NAME = "SOURCE_VAR" }
            names.extend((str(new), f"[exports.{service}] rename") for new, source in rename.items() if source == var)
    return names


def _secret_like(ctx: _Ctx, profile: Profile) -> Iterator[str]:
    """Variables of ``profile`` holding a server-side secret, however they are stored."""
    for var in profile.names():
        if var in profile.secrets or ctx.spec(var).secret or looks_like_key(profile.values.get(var, "")):
            yield var


def _e002_public_prefix(ctx: _Ctx) -> Iterator[Finding]:
    seen: set[str] = set()
    for env, profile in ctx.checked():
        for var in _secret_like(ctx, profile):
            seen.add(var)
            yield from _public_findings(ctx, env, var, ctx.profile_file(env))
    for var, spec in ctx.manifest.variables.items():
        if spec.secret and var not in seen and not any(p.has(var) for p in ctx.profiles.values()):
            yield from _public_findings(ctx, "", var, "envman.toml")


def _public_findings(ctx: _Ctx, env: str, var: str, file: str) -> Iterator[Finding]:
    for name, source in exported_names(ctx.manifest, var):
        prefix = public_prefix(name.strip())
        if not prefix:
            continue
        if name == var:
            what = f"{var} is a server-side secret but its name starts with {prefix}"
            fix = f"rename it without {prefix} (e.g. {var[len(prefix):]}) and call the API from your server, never the browser"
            where = file
        else:
            what = f"{var} is a server-side secret exported as {name.strip()} ({source}), a browser-public name"
            fix = f"export it under a name without {prefix} in envman.toml; the browser must call your server, not the API"
            where = "envman.toml"
        yield Finding("E002", ERROR, env, var, what + ": bundlers put it into code every visitor can read", fix, where)


# -- E003 / E004 -------------------------------------------------------------------------

def url_issues(value: str, *, first_env: bool = True) -> list[tuple[str, str, str, str]]:
    """Problems of an API base URL as (rule, severity, message, fix); messages never quote the URL.

    ``first_env`` is False for environments after the first of the promotion
    order, where plain http is refused (E004).
    """
    from urllib.parse import urlsplit

    problem = url_problem(value)
    if problem:
        return [("E003", ERROR, problem, "give the API root with scheme and host, such as https://api.alltkn.com/api/v1")]
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/")
    low = path.lower()
    out: list[tuple[str, str, str, str]] = []
    if parts.username is not None or parts.password is not None:
        out.append(("E003", ERROR, "URL carries a user name or password",
                    "remove the credentials from the URL and keep them in a secret variable"))
    if parts.query or parts.fragment or value.rstrip().endswith(("?", "#")):
        out.append(("E003", ERROR, "URL has a query string or fragment: the SDK appends routes after it",
                    "drop everything from '?' or '#'; pass parameters in requests, keys in a secret variable"))
    suffix = next((s for s in ENDPOINT_SUFFIXES if low.endswith(s)), "")
    if not suffix and "/audio/" in low + "/":
        suffix = low[low.index("/audio"):]
    if suffix:
        root = f"{parts.scheme}://{parts.netloc}{path[: len(path) - len(suffix)]}"
        shown = f" {root}" if parts.username is None and parts.password is None else ""
        out.append(("E003", ERROR, f"URL ends in the endpoint {suffix}: the SDK appends it again ({suffix}{suffix})",
                    f"set the API root{shown} without {suffix}"))
    elif _looks_like_page(host, low):
        out.append(("E003", WARNING, "URL looks like a web site, not an API root (no API path)",
                    "use the API address from the provider's docs, such as https://api.alltkn.com/api/v1; `envman verify` confirms it"))
    if parts.scheme == "http" and not first_env:
        loopback = host in _LOOPBACK or host.startswith("127.")
        out.append(("E004", WARNING if loopback else ERROR,
                    "URL uses plain http" + (" (to this machine)" if loopback else ": the key crosses the network unencrypted"),
                    "use https:// (plain http is allowed only in the first environment of the promotion order)"))
    return out


def _looks_like_page(host: str, path: str) -> bool:
    if path.endswith(_PAGE_EXTENSIONS) or any(seg in _PAGE_SEGMENTS for seg in path.split("/")):
        return True
    if path:
        return False
    # A bare host: fine for an API host (api.example.com) or a local server, a web site otherwise.
    if host in _LOOPBACK or not host or host.replace(".", "").isdigit() or ":" in host:
        return False
    return not any(label.startswith(_API_LABELS) or label.endswith("api") for label in host.split("."))


def _e003_e004_urls(ctx: _Ctx) -> Iterator[Finding]:
    first = ctx.manifest.environments[0] if ctx.manifest.environments else ""
    for env, profile in ctx.checked():
        for var, value in sorted(profile.values.items()):
            if ctx.spec(var).type != "url":
                continue
            for rule, severity, message, fix in url_issues(value, first_env=env == first):
                fix = fix if rule == "E004" else f"{fix}: `envman set {env} {var} URL`"
                yield Finding(rule, severity, env, var, f"{var} in {env}: {message}", fix, ctx.profile_file(env))


# -- E005 / E006 -------------------------------------------------------------------------

def _e005_schema(ctx: _Ctx) -> Iterator[Finding]:
    schema = ctx.manifest.variables
    previous = dict(zip(ctx.manifest.environments[1:], ctx.manifest.environments, strict=False))
    index: NearMissIndex | None = None
    for env, profile in ctx.checked():
        for var, spec in schema.items():
            if spec.required and not profile.has(var):
                fix = f"set it with {_set_cmd(env, var, spec.secret)}"
                if env in previous and not spec.secret:
                    fix += f" or promote it: `envman promote {previous[env]} {env}`"
                yield Finding("E005", ERROR, env, var, f"{var} is required by the schema but not set in {env}", fix,
                              ctx.profile_file(env))
        unknown = [var for var in profile.names() if var not in schema]
        if index is None and len(unknown) > 1:
            index = _index(schema)
        for var in unknown:
            if not _close(var, schema, index):  # near-misses are reported by E006
                yield Finding("E005", WARNING, env, var, f"{var} is set in {env} but not in the schema of envman.toml",
                              f"add [variables.{var}] to envman.toml, or remove it with `envman unset {env} {var}`",
                              ctx.profile_file(env))


def _without_digits(name: str) -> str:
    return re.sub(r"\d", "", name)


def _digits_only_difference(a: str, b: str) -> bool:
    return _without_digits(a) == _without_digits(b)


def _close(name: str, schema: Iterable[str], index: NearMissIndex | None = None) -> list[str]:
    """Schema names ``name`` is a near-miss of (``index``: of the same names, for many questions); numbered siblings
    (URL_1, URL_2) are distinct on purpose."""
    close = index.near_misses(name) if index is not None else near_misses(name, schema)
    return [c for c in close if not _digits_only_difference(name.strip(), c)]


def _index(names: Collection[str]) -> NearMissIndex | None:
    """An index of ``names`` when there are enough that comparing each question with every name would show."""
    return NearMissIndex(names) if len(names) > _INDEX_FROM else None


_INDEX_FROM = 64  # names; below this comparing with each is as fast as filing them


def near_miss_findings(
    names: Iterable[str], schema_names: Iterable[str], *, env: str = "", file: str = "", source: str = "",
    index: NearMissIndex | None = None,
) -> list[Finding]:
    """E006 findings for arbitrary names (a .env file's, exported names) against the schema's names.

    A name that is exactly a schema name is fine; one with whitespace or that is
    not a valid variable name is an error (the app never reads it); a near-miss
    spelling of a schema name is a warning.
    """
    schema = list(dict.fromkeys(schema_names))
    known = set(schema)
    names = list(names)
    if index is None and len(names) > 1:
        index = _index(schema)
    where = f" ({source})" if source else ""
    out: list[Finding] = []
    for name in names:
        if name in known:
            continue
        shown = repr(name) if name != name.strip() or not name.isprintable() else name
        close = _close(name, schema, index)
        if not is_var_name(name):
            target = close[0] if close else ""
            what = f"{shown}{where} is not a valid variable name" + (
                " (it has whitespace)" if name != name.strip() or any(c.isspace() for c in name) else "")
            fix = f"write it exactly as {target}" if target else "use upper-case letters, digits and '_' only"
            out.append(Finding("E006", ERROR, env, target or name.strip(), what + (f": it never matches {target}" if target else ""),
                               fix, file))
        elif close:
            out.append(Finding("E006", WARNING, env, name, f"{shown}{where} looks like a misspelling of {close[0]}",
                               f"use the schema's name {close[0]} everywhere (or add {name} to the schema if it is distinct)", file))
    return out


def _e006_near_miss(ctx: _Ctx) -> Iterator[Finding]:
    schema = ctx.manifest.variables
    names = sorted(schema)
    index = _index(names)
    # Values stored under a name outside the schema but close to a schema name.
    for env, profile in ctx.checked():
        for var in profile.names():
            if var in schema:
                continue
            close = _close(var, schema, index)
            if not close:
                continue
            missing = [c for c in close if schema[c].required and not profile.has(c)]
            target = missing[0] if missing else close[0]
            severity = ERROR if missing else WARNING
            tail = f", which {env} lacks: the app will not find the value" if missing else ""
            yield Finding("E006", severity, env, var, f"{var} in {env} looks like a misspelling of {target}{tail}",
                          f"move the value to {target} (`envman set {env} {target}`) and `envman unset {env} {var}`",
                          ctx.profile_file(env))
    # Two spellings of one name inside the schema: names drift between services.
    used = {n: sum(p.has(n) for p in ctx.profiles.values()) for n in names}
    # numbered siblings (URL_1, URL_2) are distinct on purpose: the index does not even pair them
    pairs = list(combinations(names, 2)) if index is None else sorted(index.pairs(_without_digits))
    for a, b in pairs:
        if not is_near_miss(a, b) or _digits_only_difference(a, b):
            continue
        right, wrong = sorted((a, b), key=lambda n: (not schema[n].required, -used[n], -len(n), n))
        envs = [e for e, p in ctx.checked() if p.has(wrong)]
        message = f"{wrong} and {right} are both in the schema: {wrong} looks like a misspelling of {right}"
        fix = f"use one name ({right}) in every service and environment; remove [variables.{wrong}] from envman.toml"
        for env in envs or [""]:
            yield Finding("E006", WARNING, env, wrong, message, fix, "envman.toml")
    # Exported and renamed names of every variable.
    for var in names:
        for name, source in exported_names(ctx.manifest, var)[1:]:
            for f in near_miss_findings([name], names, file="envman.toml", source=f"{var} exported by {source}", index=index):
                yield f._replace(var=var)


# -- E007 --------------------------------------------------------------------------------

def _e007_values(ctx: _Ctx) -> Iterator[Finding]:
    for env, profile in ctx.checked():
        file = ctx.profile_file(env)
        for var, value in sorted(profile.values.items()):
            spec = ctx.spec(var)
            if spec.secret:
                continue  # a plaintext secret is E011's finding
            try:
                validate_value(spec, value)
            except InvalidValue as exc:
                yield Finding("E007", ERROR, env, var, f"{exc.message} (type {spec.type})",
                              f"{exc.hint}: `envman set {env} {var} VALUE`", file)
                continue
            if spec.type == "duration_ms":
                yield from _timeout_range(env, var, int(value), file)
        for var in sorted(profile.secrets):
            spec = ctx.spec(var)
            if var in ctx.manifest.variables and not spec.secret:
                yield Finding("E007", WARNING, env, var, f"{var} is stored encrypted but the schema says type {spec.type}",
                              f"make its type secret in envman.toml, or set it again with `envman set {env} {var} VALUE`", file)


def _timeout_range(env: str, var: str, ms: int, file: str) -> Iterator[Finding]:
    if ms > ABSURD_TIMEOUT_MS:
        yield Finding("E007", ERROR, env, var, f"{var} in {env} is {ms} ms, more than a day: surely a unit mistake",
                      f"give milliseconds, e.g. 60000 for one minute: `envman set {env} {var} 60000`", file)
    elif ms > MAX_TIMEOUT_MS:
        yield Finding("E007", WARNING, env, var,
                      f"{var} in {env} is {ms} ms, more than 10 minutes: a hung request holds a worker that long",
                      f"use a timeout of at most 600000 ms: `envman set {env} {var} 60000`", file)
    elif ms < MIN_TIMEOUT_MS:
        yield Finding("E007", WARNING, env, var, f"{var} in {env} is {ms} ms, under one second: most completions cannot finish",
                      f"the value is in milliseconds (60000 = one minute): `envman set {env} {var} 60000`", file)


# -- E008 / E009 -------------------------------------------------------------------------

def _e008_go_live(ctx: _Ctx) -> Iterator[Finding]:
    for env, profile in ctx.checked():
        last = ctx.manifest.is_last(env)
        for var in sorted(profile.secrets):
            meta = ctx.meta(profile, var)
            missing = [what for what, ok in (("owner", meta.owner), ("rotation method", meta.rotation_method),
                                              ("rollback value", meta.rollback is not None)) if not ok]
            if not missing:
                continue
            fixes = []
            if meta.owner == "" or meta.rotation_method == "":
                fixes.append(f"`envman owner {env} {var} --owner WHO --rotation-method HOW` (or owner/rotation_method in envman.toml)")
            if meta.rollback is None:
                fixes.append(f"`envman rotate {env} {var}` keeps the replaced key as the rollback value")
            gate = ": this blocks go-live" if last else ""
            yield Finding("E008", ERROR if last else WARNING, env, var,
                          f"{var} in {env} has no {', no '.join(missing)}{gate}", "; ".join(fixes), ctx.profile_file(env))


def _e009_rotation(ctx: _Ctx) -> Iterator[Finding]:
    for env, profile in ctx.checked():
        last = ctx.manifest.is_last(env)
        for var in sorted(profile.secrets):
            meta = ctx.meta(profile, var)
            if meta.rotation_days <= 0:
                continue
            fix = f"rotate it: `printf %s \"$NEW_KEY\" | envman rotate {env} {var}`"
            rotated = parse_time(meta.rotated_at) if meta.rotated_at else None
            if rotated is None:
                yield Finding("E009", WARNING, env, var,
                              f"{var} in {env} has a {meta.rotation_days}-day rotation period but no recorded rotation date",
                              fix + " (which records the date)", ctx.profile_file(env))
                continue
            due = rotated + timedelta(days=meta.rotation_days)
            left = due - ctx.now
            if left < timedelta(0):
                days = -left.days
                late = f"{days} day{'s' * (days != 1)}"
                yield Finding("E009", ERROR if last else WARNING, env, var,
                              f"{var} in {env} is overdue for rotation by {late} (due {due:%Y-%m-%d}, period {meta.rotation_days} days)",
                              fix, ctx.profile_file(env))
            elif left <= timedelta(days=ROTATION_WARN_DAYS):
                yield Finding("E009", WARNING, env, var, f"{var} in {env} is due for rotation on {due:%Y-%m-%d} (in {left.days} days)",
                              fix, ctx.profile_file(env))


# -- E010 --------------------------------------------------------------------------------

def _e010_integrity(project: Project, ctx: _Ctx, envs: Collection[str] | None) -> Iterator[Finding]:
    """The whole chain and every version (``envs`` None), or a writer's quick check of ``envs`` only."""
    ledger = _rel(ctx.manifest.root, ctx.manifest.data_dir / "ledger.jsonl")
    try:
        if envs is None:
            _, problem, findings = project.store.verify_integrity()
        else:
            problem, findings = None, project.store.integrity_of(envs)
    except TamperError as exc:
        yield Finding("E010", ERROR, "", "", exc.message, exc.hint, ledger)
        return
    if problem is not None:
        yield Finding("E010", ERROR, "", "", f"ledger chain broken: {problem.message}",
                      "restore environments/ledger.jsonl from git; `envman ledger verify` shows the first broken entry", ledger)
    for f in findings:
        crash = f.kind == "crash"
        file = ctx.profile_file(f.env) if f.env else ledger
        yield Finding("E010", WARNING if crash else ERROR, f.env, "", f.message,
                      "run `envman repair`" if crash else f"restore the file from git and find who changed it; {f.hint}", file)


# -- E011 --------------------------------------------------------------------------------

def _e011_plaintext_values(ctx: _Ctx) -> Iterator[Finding]:
    for env, profile in ctx.checked():
        file = ctx.profile_file(env)
        for var, value in sorted(profile.values.items()):
            spec = ctx.spec(var)
            redo = f"re-enter it with {_set_cmd(env, var, True)} and rotate it: it sat in a plain file"
            if spec.secret:
                yield Finding("E011", ERROR, env, var, f"{var} is a secret but {env} stores it in plaintext", redo, file)
            elif looks_like_key(value):
                yield Finding("E011", ERROR, env, var, f"{var} in {env} holds a value shaped like an API key, stored in plaintext",
                              f"make its type secret in envman.toml, then {redo}", file)
            elif spec.type == "string" and looks_secret(var) and len(value) >= 12 and not any(c.isspace() for c in value):
                yield Finding("E011", WARNING, env, var, f"{var} in {env} is named like a credential but stored in plaintext",
                              f"if it is secret, make its type secret in envman.toml and {redo}; "
                              f"else add ignore = [\"E011\"] to [variables.{var}]",
                              file)


def _plaintext_files(manifest: Manifest) -> Iterator[tuple[Path, str]]:
    """Files that hold plaintext keys or values: the keys files and the project's .env files."""
    root = manifest.root
    keys = os.environ.get("ENVMAN_KEYS_FILE")
    seen: set[Path] = set()
    for path in (root / ".envman-keys", Path(keys) if keys else None):
        if path is not None and path.is_file() and path.resolve() not in seen:
            seen.add(path.resolve())
            yield path, "keys"
    for path in sorted(root.glob(".env*")):
        if path.is_file() and path.resolve() not in seen and not path.name.endswith(_TEMPLATE_SUFFIXES):
            yield path, "dotenv"


def _dotenv_names(path: Path) -> list[tuple[str, str]]:
    """(name, value) pairs of a .env file, read leniently (a broken line is skipped, not fatal)."""
    import io

    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [(b.key, b.value or "") for b in parse_stream(io.StringIO(text)) if b.key is not None and not b.error]


def _gitignored(root: Path, path: Path) -> bool:
    from fnmatch import fnmatch

    try:
        rel = path.relative_to(root)
    except ValueError:
        return True  # outside the project: git never sees it
    try:
        lines = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    patterns = [ln.strip().lstrip("/") for ln in lines if ln.strip() and not ln.startswith(("#", "!"))]
    return any(fnmatch(str(rel), p) or fnmatch(rel.name, p) for p in patterns)


def _e011_files(ctx: _Ctx) -> Iterator[Finding]:
    root, schema = ctx.manifest.root, list(ctx.manifest.variables)
    for path, kind in _plaintext_files(ctx.manifest):
        rel = _rel(root, path)
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        open_to_others = bool(mode & 0o077)
        if kind == "keys":
            if open_to_others:
                yield Finding("E011", ERROR, "", "", f"{rel} holds private keys and is readable by other users (mode {mode & 0o777:o})",
                              f"run `chmod 600 {rel}`", rel)
            if not _gitignored(root, path):
                yield Finding("E011", ERROR, "", "", f"{rel} holds private keys inside the project but is not in .gitignore",
                              f"add {path.name} to .gitignore (and check `git log -- {rel}` that it was never committed)", rel)
            continue
        pairs = _dotenv_names(path)
        if open_to_others and any(looks_like_key(v) or (looks_secret(n) and v) for n, v in pairs):
            yield Finding("E011", ERROR, "", "", f"{rel} holds plaintext secrets and is readable by other users (mode {mode & 0o777:o})",
                          f"adopt it with `envman import {rel} --env ENV` and delete it, or run `chmod 600 {rel}`", rel)
        yield from near_miss_findings([n for n, _ in pairs], schema, file=rel, source=f"in {rel}")


# -- running -----------------------------------------------------------------------------

def _rule_ids(items: Iterable[str], where: str) -> set[str]:
    ids: set[str] = set()
    for item in items:
        for part in str(item).split(","):
            rid = part.strip().upper()
            if not rid:
                continue
            if rid not in RULE_IDS:
                error = UsageError if where == "--ignore" else InvalidValue
                raise error(f"{where}: unknown rule id {part.strip()!r}", "use ids E001 to E011 (see `envman check --help`)")
            ids.add(rid)
    return ids


def ignored_rules(manifest: Manifest, ignore: Iterable[str] = ()) -> set[str]:
    """Rule ids skipped project-wide: ``ignore`` (e.g. ``--ignore E009,E008``) plus ``[check] ignore``."""
    raw = manifest.check.get("ignore", [])
    if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
        raise InvalidValue("envman.toml: [check] ignore must be a list of rule ids such as [\"E009\"]", "fix envman.toml")
    return _rule_ids(ignore, "--ignore") | _rule_ids(raw, "envman.toml [check] ignore")


def _selected(manifest: Manifest, envs: Iterable[str] | None) -> tuple[str, ...]:
    if envs is None:
        return manifest.environments
    wanted = {manifest.require_env(e) for e in envs}
    return tuple(e for e in manifest.environments if e in wanted)


def run_checks(
    project: Project, envs: Iterable[str] | None = None, *, profiles: Mapping[str, Profile] | None = None,
    ignore: Iterable[str] = (), now: datetime | None = None, integrity: Collection[str] | None = None,
) -> list[Finding]:
    """Every finding of every rule for ``envs`` (default: all environments), errors before warnings.

    E010 walks the whole ledger and every version file; with ``integrity`` (environment
    names) it is the quick check a writer makes of those environments instead, whose cost
    does not grow with the history.
    """
    manifest = project.manifest
    selected = _selected(manifest, envs)
    skip = ignored_rules(manifest, ignore)
    per_var = {name: _rule_ids(spec.ignore, f"envman.toml [variables.{name}] ignore") for name, spec in manifest.variables.items()}
    given = dict(profiles or {})
    found: list[Finding] = []
    current: dict[str, Profile] = {}
    ctx = _Ctx(manifest, current, selected, now or datetime.now(UTC))
    for env in manifest.environments:
        if env in given:
            current[env] = given[env]
            continue
        try:
            current[env] = project.store.current(env)
        except TamperError as exc:  # unreadable: reported, and the other environments are still checked
            found.append(Finding("E010", ERROR, env, "", exc.message, exc.hint, ctx.profile_file(env)))
    for extra in given.keys() - set(manifest.environments):
        manifest.require_env(extra)  # raises: a profile for an unknown environment is a caller bug
    rules = (_e001_shared_secret, _e002_public_prefix, _e003_e004_urls, _e005_schema, _e006_near_miss, _e007_values,
             _e008_go_live, _e009_rotation, _e011_plaintext_values, _e011_files)
    for rule in rules:
        found.extend(rule(ctx))
    if "E010" not in skip:
        found.extend(_e010_integrity(project, ctx, integrity))
    order = {e: i for i, e in enumerate(manifest.environments)}
    unique: dict[tuple[str, str, str, str], Finding] = {}
    for f in found:
        # a quick integrity check may cover an environment that is read, not checked (promote's SRC)
        wanted = f.env in selected or (f.rule == "E010" and f.env in (integrity or ()))
        if f.rule in skip or f.rule in per_var.get(f.var, ()) or (f.env and not wanted):
            continue
        if not f.file:
            f = f._replace(file=ctx.profile_file(f.env) if f.env else "envman.toml")
        unique.setdefault((f.rule, f.env, f.var, f.message), f)
    return sorted(unique.values(), key=lambda f: (f.severity != ERROR, order.get(f.env, -1), f.rule, f.var, f.message))


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding is an error (``check`` then exits 1)."""
    return any(f.severity == ERROR for f in findings)


# -- SARIF -------------------------------------------------------------------------------

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _line_of(root: Path, file: str, var: str, cache: dict[str, list[str]]) -> int:
    """The 1-based line where ``var`` appears in ``file`` (1 when it cannot be found)."""
    if file not in cache:
        try:
            cache[file] = (root / file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[file] = []
    if not var:
        return 1
    pattern = re.compile(rf"(^|[\s\[.\"']){re.escape(var)}($|[\s\].\"'=])")
    return next((n for n, line in enumerate(cache[file], 1) if pattern.search(line)), 1)


def to_sarif(findings: Iterable[Finding], root: Path, *, version: str = "") -> dict[str, Any]:
    """A SARIF 2.1.0 log of ``findings`` for GitHub code scanning; locations are relative to ``root``."""
    import hashlib

    index = {r.id: i for i, r in enumerate(RULES)}
    rules = [{
        "id": r.id, "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": f"envman check {r.id}: {r.summary}."},
        "help": {"text": f"Each finding says how to fix it; skip the rule with `--ignore {r.id}` or ignore = [\"{r.id}\"]."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["configuration", "security"] if r.id in ("E001", "E002", "E004", "E010", "E011") else ["configuration"]},
    } for r in RULES]
    cache: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    results = []
    for f in findings:
        key = f"{f.rule}|{f.env}|{f.var}|{f.file}"
        counts[key] = counts.get(key, 0) + 1
        # Stable across runs (no dates or counts from the message), so code scanning tracks one alert.
        stable = hashlib.sha256(f"{key}|{counts[key]}".encode()).hexdigest()[:32]
        where = f"{f.env}: " if f.env else ""
        results.append({
            "ruleId": f.rule, "ruleIndex": index[f.rule], "level": f.severity,
            "message": {"text": f"{where}{f.message}. Fix: {f.fix}"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": f.file or "envman.toml", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": _line_of(root, f.file or "envman.toml", f.var, cache)},
            }}],
            "partialFingerprints": {"envmanFinding/v1": stable},
            "properties": {"environment": f.env, "variable": f.var},
        })
    driver: dict[str, Any] = {"name": "envman", "rules": rules}
    if version:
        driver["semanticVersion"] = version
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
