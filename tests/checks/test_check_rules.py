"""The rules of `envman check` (E001-E011): each with a failing and a passing case.

Most cases start from the ``seeded`` project (the LLM example in test, staging,
production with distinct keys) and either change it through envman or hand
``run_checks`` a would-be profile, the way ``promote`` checks its plan.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from envman.checks import (
    ENDPOINT_SUFFIXES,
    PUBLIC_PREFIXES,
    RULE_IDS,
    RULES,
    Finding,
    has_errors,
    looks_like_key,
    near_miss_findings,
    public_prefix,
    run_checks,
    url_issues,
)
from envman.errors import InvalidValue, NotFound, UsageError
from envman.manifest import edit_manifest
from envman.ops import Project, import_dotenv, set_var
from envman.profile import Profile, SecretRecord, VarMeta

KEY = "ALLTKN_API_KEY"
URL = "ALLTKN_BASE_URL"
MODEL = "ALLTKN_DEFAULT_MODEL"
TIMEOUT = "AI_REQUEST_TIMEOUT_MS"
LEVEL = "AI_LOG_LEVEL"
SCHEMA = [KEY, URL, MODEL, TIMEOUT, LEVEL]
PLAINTEXT_KEYS = ("sk-test-aaaaaaaaaaaaaaaa1111", "sk-stag-bbbbbbbbbbbbbbbb2222", "sk-prod-cccccccccccccccc3333")


def check(pd: Any, envs: list[str] | None = None, rule: str | None = None, **kwargs: Any) -> list[Finding]:
    """Run every rule on the project ``pd`` and keep one rule's findings."""
    found = run_checks(pd.open(), envs, **kwargs)
    for f in found:  # whatever the rule, no finding ever carries a plaintext key
        assert not any(k in f.message or k in f.fix for k in PLAINTEXT_KEYS), f
    return [f for f in found if rule is None or f.rule == rule]


def would_be(pd: Any, env: str, *, values: dict[str, str] | None = None, drop: tuple[str, ...] = (),
             meta: dict[str, VarMeta] | None = None, secrets: dict[str, SecretRecord] | None = None) -> Profile:
    """The stored current profile of ``env`` with changes, as promote would hand it to run_checks."""
    p = pd.open().store.current(env)
    vals = {k: v for k, v in {**p.values, **(values or {})}.items() if k not in drop}
    secs = {k: v for k, v in {**p.secrets, **(secrets or {})}.items() if k not in drop}
    return p._replace(values=vals, secrets=secs, meta={**p.meta, **(meta or {})})


def edit(pd: Any, fn: Any) -> None:
    """Change envman.toml through tomlkit, as envman itself does."""
    edit_manifest(pd.root, fn)


def set_owner(pd: Any, **fields: Any) -> None:
    """Give the schema's API key an owner / rotation method / period."""
    def fn(doc: Any) -> None:
        for k, v in fields.items():
            doc["variables"][KEY][k] = v
    edit(pd, fn)


# -- the rule table --------------------------------------------------------------------------

def test_rule_table_is_complete() -> None:
    """Eleven rules with stable ids E001-E011, each with a name and a one-line summary."""
    assert [r.id for r in RULES] == [f"E{n:03d}" for n in range(1, 12)]
    assert {r.id for r in RULES} == RULE_IDS
    assert all(r.name and r.summary and "\n" not in r.summary for r in RULES)


def test_seeded_example_passes_every_rule_but_the_go_live_gate(seeded: Any) -> None:
    """The example as imported is clean except E008 (no owner/rotation/rollback recorded yet)."""
    found = check(seeded)
    assert {f.rule for f in found} == {"E008"}
    assert [f.env for f in found if f.severity == "error"] == ["production"]


def test_findings_carry_env_var_fix_and_file(seeded: Any) -> None:
    """Every finding names its rule, severity, environment, variable, a one-line fix and a file."""
    f = check(seeded, ["production"], rule="E008")[0]
    assert (f.rule, f.severity, f.env, f.var) == ("E008", "error", "production", KEY)
    assert f.fix and "\n" not in f.fix and f.file == "environments/production.toml"
    assert f.as_dict()["environment"] == "production"


# -- E001 --------------------------------------------------------------------------------------

def test_e001_staging_and_production_sharing_a_key(seeded: Any) -> None:
    """The seed's failure: staging gets production's key; both environments are reported."""
    set_var(seeded.open(), "staging", KEY, "sk-prod-cccccccccccccccc3333")
    found = check(seeded, rule="E001")
    assert sorted((f.env, f.severity) for f in found) == [("production", "error"), ("staging", "error")]
    staging = next(f for f in found if f.env == "staging")
    assert "production/ALLTKN_API_KEY" in staging.message and "envman rotate staging" in staging.fix


def test_e001_compares_against_all_environments_even_when_one_is_checked(seeded: Any) -> None:
    """`check production` still sees that staging holds the same key."""
    set_var(seeded.open(), "staging", KEY, "sk-prod-cccccccccccccccc3333")
    found = check(seeded, ["production"], rule="E001")
    assert [(f.env, f.var) for f in found] == [("production", KEY)]


def test_e001_needs_no_private_key(seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fingerprints are compared without decrypting: no key source at all still finds the share."""
    set_var(seeded.open(), "test", KEY, "sk-stag-bbbbbbbbbbbbbbbb2222")
    monkeypatch.delenv("ENVMAN_KEYS_FILE")
    assert {f.env for f in check(seeded, rule="E001")} == {"test", "staging"}


def test_e001_distinct_keys_pass(seeded: Any) -> None:
    """Distinct keys per environment: no E001."""
    assert check(seeded, rule="E001") == []


def test_e001_on_a_would_be_profile(seeded: Any) -> None:
    """A planned profile whose key record equals another environment's is caught before it is written."""
    prod = seeded.open().store.current("production")
    plan = would_be(seeded, "staging", secrets={KEY: prod.secrets[KEY]})
    found = check(seeded, ["staging"], rule="E001", profiles={"staging": plan})
    assert [f.env for f in found] == ["staging"]


# -- E002 --------------------------------------------------------------------------------------

def test_e002_next_public_api_key(seeded: Any) -> None:
    """The seed's failure: a NEXT_PUBLIC_ALLTKN_API_KEY secret is refused."""
    env_file = seeded.root / "web.env"
    env_file.write_text("NEXT_PUBLIC_ALLTKN_API_KEY=sk-web-dddddddddddddddd4444\n")
    import_dotenv(seeded.open(), env_file, "staging")
    found = check(seeded, rule="E002")
    assert [(f.env, f.var, f.severity) for f in found] == [("staging", "NEXT_PUBLIC_ALLTKN_API_KEY", "error")]
    assert "NEXT_PUBLIC_" in found[0].message and "ALLTKN_API_KEY" in found[0].fix


@pytest.mark.parametrize("prefix", PUBLIC_PREFIXES)
def test_e002_export_as_with_each_public_prefix(seeded: Any, prefix: str) -> None:
    """A secret exported (export_as) under any browser-public prefix is an error in every environment holding it."""
    def fn(doc: Any) -> None:
        doc["variables"][KEY]["export_as"] = {"web": f"{prefix}ALLTKN_API_KEY"}
    edit(seeded, fn)
    found = check(seeded, rule="E002")
    assert {f.env for f in found} == {"test", "staging", "production"}
    assert all(f.severity == "error" and "export_as.web" in f.message and f.file == "envman.toml" for f in found)


def test_e002_service_rename(seeded: Any) -> None:
    """A rename in [exports.<service>] to VITE_ exposes the secret to the browser."""
    with (seeded.root / "envman.toml").open("a") as fh:
        fh.write('\n[exports.frontend]\nrename = { VITE_ALLTKN_KEY = "ALLTKN_API_KEY" }\n')
    found = check(seeded, ["production"], rule="E002")
    assert len(found) == 1 and "VITE_ALLTKN_KEY" in found[0].message and "[exports.frontend]" in found[0].message


def test_e002_public_non_secret_passes(seeded: Any) -> None:
    """A public URL or a rename of a non-secret to NEXT_PUBLIC_ is fine; server names pass too."""
    with (seeded.root / "envman.toml").open("a") as fh:
        fh.write('\n[exports.web]\nrename = { NEXT_PUBLIC_MODEL = "ALLTKN_DEFAULT_MODEL", SERVER_KEY = "ALLTKN_API_KEY" }\n')
    assert check(seeded, rule="E002") == []


def test_e002_plaintext_key_value_under_a_public_name(seeded: Any) -> None:
    """A string variable holding an sk- key under a public name is refused as well (and is E011)."""
    plan = would_be(seeded, "test", values={"NEXT_PUBLIC_TOKEN": "sk-abcdefghijklmnop0123"})
    found = check(seeded, ["test"], profiles={"test": plan})
    assert {f.rule for f in found if f.var == "NEXT_PUBLIC_TOKEN" and f.severity == "error"} == {"E002", "E011"}


def test_e002_secret_in_schema_but_not_set_anywhere(project: Any) -> None:
    """The schema alone is enough: a public-named secret variable is reported project-wide."""
    set_var(project.open(), "test", "NEXT_PUBLIC_OPENAI_KEY", "sk-xxxxxxxxxxxxxxxxxxxx", new_type="secret")
    found = check(project, rule="E002")
    assert [f.env for f in found] == ["test"]


def test_public_prefix_helper() -> None:
    """public_prefix names the prefix; server-side names have none."""
    assert public_prefix("NEXT_PUBLIC_X") == "NEXT_PUBLIC_"
    assert public_prefix("NUXT_PUBLIC_X") == "NUXT_PUBLIC_"
    assert public_prefix("EXPO_PUBLIC_X") == "EXPO_PUBLIC_"
    assert public_prefix("ALLTKN_API_KEY") == ""
    assert public_prefix("MY_PUBLIC_KEY") == ""


# -- E003 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ENDPOINT_SUFFIXES)
def test_e003_endpoint_suffixes(suffix: str) -> None:
    """Each endpoint path at the end of a base URL is an error, with the root suggested."""
    issues = url_issues("https://api.alltkn.com/api/v1" + suffix)
    assert [(r, s) for r, s, _, _ in issues] == [("E003", "error")]
    assert "https://api.alltkn.com/api/v1 " in issues[0][3]


@pytest.mark.parametrize("url", [
    "https://api.alltkn.com/api/v1",
    "https://api.alltkn.com/api/v1/",
    "https://api.deepseek.com",
    "https://api.openai.com/v1",
    "https://openrouter.ai/api/v1",
    "http://127.0.0.1:8080/v1",
    "http://localhost:11434/v1",
    "https://my-gateway.internal.example/llm/v1",
])
def test_e003_api_roots_pass(url: str) -> None:
    """API roots, including bare api.* hosts and local servers, have no issue."""
    assert url_issues(url) == []


@pytest.mark.parametrize(("url", "word"), [
    ("api.alltkn.com/api/v1", "https://"),
    ("ftp://api.alltkn.com/api/v1", "https://"),
    ("https:///v1", "no host"),
    ("https://api.alltkn.com/api/v1?key=sk-abcdefghijklmnopqrstuv", "query"),
    ("https://api.alltkn.com/api/v1#models", "query"),
    ("https://user:sk-abcdefghijklmnop@api.alltkn.com/api/v1", "password"),
    ("https://api.alltkn.com/api/v1/audio/speech", "endpoint"),
])
def test_e003_malformed_urls_are_errors(url: str, word: str) -> None:
    """No scheme/host, a query or fragment, credentials: errors that never quote the URL."""
    issues = url_issues(url)
    assert any(r == "E003" and s == "error" and word in m for r, s, m, _ in issues), issues
    assert all("sk-abc" not in m + f for _, _, m, f in issues)


@pytest.mark.parametrize("url", ["https://alltkn.com", "https://alltkn.com/", "https://www.alltkn.com",
                                 "https://alltkn.com/docs/api", "https://alltkn.com/pricing.html"])
def test_e003_web_site_is_a_warning(url: str) -> None:
    """The seed's `https://alltkn.com`: statically only a warning (verify makes an HTML answer an error)."""
    issues = url_issues(url)
    assert [(r, s) for r, s, _, _ in issues] == [("E003", "warning")]
    assert "web site" in issues[0][2]


def test_e003_seed_chat_completions_in_a_profile(seeded: Any) -> None:
    """The seed's ALLTKN_BASE_URL=.../api/v1/chat/completions in staging is an error naming the root."""
    set_var(seeded.open(), "staging", URL, "https://api.alltkn.com/api/v1/chat/completions")
    found = check(seeded, rule="E003")
    assert [(f.env, f.var, f.severity) for f in found] == [("staging", URL, "error")]
    assert "/chat/completions" in found[0].message
    assert "https://api.alltkn.com/api/v1 " in found[0].fix and "envman set staging ALLTKN_BASE_URL" in found[0].fix


def test_e003_seed_web_site_in_a_profile(seeded: Any) -> None:
    """The seed's ALLTKN_BASE_URL=https://alltkn.com is reported as a web site (warning, exit stays 0)."""
    set_var(seeded.open(), "production", URL, "https://alltkn.com")
    found = check(seeded, rule="E003")
    assert [(f.env, f.severity) for f in found] == [("production", "warning")]


def test_e003_only_url_typed_variables(seeded: Any) -> None:
    """A string variable holding a page URL (a docs link) is not an API base URL."""
    set_var(seeded.open(), "test", "DOCS_LINK", "https://alltkn.com/docs", new_type="string")
    assert check(seeded, rule="E003") == []


# -- E004 --------------------------------------------------------------------------------------

def test_e004_http_allowed_only_in_the_first_environment(seeded: Any) -> None:
    """Plain http to a remote host: fine in test (first), an error in staging and production."""
    for env in ("test", "staging", "production"):
        set_var(seeded.open(), env, URL, "http://api.alltkn.com/api/v1")
    found = check(seeded, rule="E004")
    assert [(f.env, f.severity) for f in found] == [("staging", "error"), ("production", "error")]


def test_e004_follows_the_manifest_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With environments = [dev, prod], dev is the first: http is allowed there, not in prod."""
    from envman.ops import init_project

    root = tmp_path / "p"
    root.mkdir()
    init_project(root, project_id="p", envs=["dev", "prod"], keys_file=tmp_path / "k")
    monkeypatch.setenv("ENVMAN_KEYS_FILE", str(tmp_path / "k"))
    project = Project.open(root)
    set_var(project, "dev", URL, "http://api.example.com/v1", new_type="url")
    set_var(project, "prod", URL, "http://api.example.com/v1")
    assert [(f.env, f.severity) for f in run_checks(project) if f.rule == "E004"] == [("prod", "error")]


def test_e004_loopback_is_only_a_warning(seeded: Any) -> None:
    """http to 127.0.0.1 never leaves the machine: a warning outside the first environment."""
    set_var(seeded.open(), "staging", URL, "http://127.0.0.1:8080/v1")
    assert [(f.env, f.severity) for f in check(seeded, rule="E004")] == [("staging", "warning")]


def test_e004_https_passes(seeded: Any) -> None:
    """https everywhere: no E004."""
    assert check(seeded, rule="E004") == []


# -- E005 --------------------------------------------------------------------------------------

def test_e005_required_variable_missing(seeded: Any) -> None:
    """Unsetting a required variable is an error naming how to set or promote it."""
    from envman.ops import unset_var

    unset_var(seeded.open(), "staging", MODEL)
    found = check(seeded, rule="E005")
    assert [(f.env, f.var, f.severity) for f in found] == [("staging", MODEL, "error")]
    assert "envman set staging" in found[0].fix and "envman promote test staging" in found[0].fix


def test_e005_missing_secret_fix_uses_stdin(seeded: Any) -> None:
    """The fix for a missing secret never suggests a value on the command line."""
    plan = would_be(seeded, "production", drop=(KEY,))
    found = check(seeded, ["production"], rule="E005", profiles={"production": plan})
    assert [f.var for f in found] == [KEY] and "printf" in found[0].fix and "promote" not in found[0].fix


def test_e005_unknown_variable_is_a_warning(seeded: Any) -> None:
    """A variable outside the schema (e.g. left after a schema edit) is a warning."""
    plan = would_be(seeded, "test", values={"FEATURE_X": "on"})
    found = check(seeded, ["test"], rule="E005", profiles={"test": plan})
    assert [(f.var, f.severity) for f in found] == [("FEATURE_X", "warning")]


def test_e005_complete_profiles_pass(seeded: Any) -> None:
    """Every required variable set, nothing unknown: no E005."""
    assert check(seeded, rule="E005") == []


# -- E006 --------------------------------------------------------------------------------------

def test_e006_value_under_a_misspelt_name(seeded: Any) -> None:
    """ALLTKN_BASEURL holding the value while ALLTKN_BASE_URL is missing: an error (the app finds nothing)."""
    plan = would_be(seeded, "staging", values={"ALLTKN_BASEURL": "https://api.alltkn.com/api/v1"}, drop=(URL,))
    found = check(seeded, ["staging"], profiles={"staging": plan})
    e006 = [f for f in found if f.rule == "E006"]
    assert [(f.var, f.severity) for f in e006] == [("ALLTKN_BASEURL", "error")]
    assert "ALLTKN_BASE_URL" in e006[0].message
    # reported once, as a near-miss, not again as an unknown variable
    assert not any(f.rule == "E005" and f.var == "ALLTKN_BASEURL" for f in found)


def test_e006_near_miss_beside_the_right_name_is_a_warning(seeded: Any) -> None:
    """ALTKN_API_KEY next to a set ALLTKN_API_KEY: a warning (drift, but the app still works)."""
    plan = would_be(seeded, "test", values={"ALTKN_API_KEY": "x"})
    found = check(seeded, ["test"], rule="E006", profiles={"test": plan})
    assert [(f.var, f.severity) for f in found] == [("ALTKN_API_KEY", "warning")]


def test_e006_two_spellings_in_the_schema(seeded: Any) -> None:
    """A second service's .env brings ALLTKN_BASEURL into the schema: drift between services is reported."""
    other = seeded.root / "worker.env"
    other.write_text("ALLTKN_BASEURL=https://api.alltkn.com/api/v1\n")
    import_dotenv(seeded.open(), other, "test")
    found = check(seeded, rule="E006")
    assert [(f.env, f.var, f.severity) for f in found] == [("test", "ALLTKN_BASEURL", "warning")]
    assert "misspelling of ALLTKN_BASE_URL" in found[0].message


def test_e006_helper_for_any_name_list() -> None:
    """near_miss_findings: trailing space is an error, misspellings warnings, exact and unrelated names pass."""
    found = near_miss_findings(
        ["ALLTKN_API_KEY ", "ALTKN_API_KEY", "ALLTKN_BASEURL", "ALLTKN_API_KEY", "OPENAI_API_KEY", "PORT"],
        SCHEMA, file=".env", source="in .env",
    )
    got = [(f.severity, f.var) for f in found]
    assert got == [("error", KEY), ("warning", "ALTKN_API_KEY"), ("warning", "ALLTKN_BASEURL")]
    assert "'ALLTKN_API_KEY '" in found[0].message and "whitespace" in found[0].message
    assert all(f.rule == "E006" and f.file == ".env" for f in found)


def test_e006_numbered_siblings_are_not_misspellings() -> None:
    """REDIS_URL_2 beside REDIS_URL_1 is a deliberate second name."""
    assert near_miss_findings(["REDIS_URL_2"], ["REDIS_URL_1"]) == []


def test_e006_exported_names(seeded: Any) -> None:
    """A rename to a near-miss spelling warns; an exported name with a trailing space is an error."""
    with (seeded.root / "envman.toml").open("a") as fh:
        fh.write('\n[exports.worker]\nrename = { ALLTKN_BASEURL = "ALLTKN_BASE_URL" }\n')
    def fn(doc: Any) -> None:
        doc["variables"][KEY]["export_as"] = {"docker": "ALLTKN_API_KEY "}
    edit(seeded, fn)
    found = check(seeded, rule="E006")
    assert sorted((f.var, f.severity) for f in found) == [(KEY, "error"), (URL, "warning")]
    assert all(f.env == "" and f.file == "envman.toml" for f in found)


def test_e006_dotenv_file_in_the_project(seeded: Any) -> None:
    """A .env file in the project root with a misspelt name is reported against that file."""
    path = seeded.root / ".env.local"
    path.write_text("ALLTKN_BASEURL=https://api.alltkn.com/api/v1\n")
    found = check(seeded, rule="E006")
    assert [(f.var, f.file) for f in found] == [("ALLTKN_BASEURL", ".env.local")]


def test_e006_consistent_names_pass(seeded: Any) -> None:
    """The example's names: no E006."""
    assert check(seeded, rule="E006") == []


# -- E007 --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("var", "value", "severity"), [
    (TIMEOUT, "0", "error"),
    (TIMEOUT, "-5", "error"),
    (TIMEOUT, "60s", "error"),
    (TIMEOUT, "500", "warning"),
    (TIMEOUT, "900000", "warning"),
    (TIMEOUT, "172800000", "error"),
    (LEVEL, "verbose", "error"),
    (MODEL, "", "error"),
    (MODEL, "deepseek chat", "error"),
])
def test_e007_bad_values(seeded: Any, var: str, value: str, severity: str) -> None:
    """Wrong type or out of range (timeout <= 0, < 1 s, > 10 min, > a day; unknown log level; empty model)."""
    plan = would_be(seeded, "staging", values={var: value})
    found = check(seeded, ["staging"], rule="E007", profiles={"staging": plan})
    assert [(f.var, f.severity) for f in found] == [(var, severity)]


@pytest.mark.parametrize(("var", "value"), [(TIMEOUT, "1000"), (TIMEOUT, "600000"), (LEVEL, "WARN"), (MODEL, "gpt-4o-mini")])
def test_e007_good_values_pass(seeded: Any, var: str, value: str) -> None:
    """Values within range and of the right type: no E007."""
    plan = would_be(seeded, "staging", values={var: value})
    assert check(seeded, ["staging"], rule="E007", profiles={"staging": plan}) == []


def test_e007_encrypted_value_of_a_non_secret_type(seeded: Any) -> None:
    """A value stored encrypted though the schema says model is reported as a mismatch."""
    prod = seeded.open().store.current("production")
    plan = would_be(seeded, "production", drop=(MODEL,))._replace(secrets={**prod.secrets, MODEL: prod.secrets[KEY]})
    found = check(seeded, ["production"], rule="E007", profiles={"production": plan})
    assert [(f.var, f.severity) for f in found] == [(MODEL, "warning")]


# -- E008 --------------------------------------------------------------------------------------

def test_e008_go_live_gate(seeded: Any) -> None:
    """No owner, rotation method or rollback value: an error for production (last), a warning elsewhere."""
    found = check(seeded, rule="E008")
    assert [(f.env, f.severity) for f in found] == [("production", "error"), ("test", "warning"), ("staging", "warning")]
    prod = found[0]
    assert "no owner, no rotation method, no rollback value" in prod.message and "go-live" in prod.message
    assert "envman owner production ALLTKN_API_KEY" in prod.fix and "envman rotate" in prod.fix


def test_e008_names_only_what_is_missing(seeded: Any) -> None:
    """With owner and method in the schema, only the rollback value is missing."""
    set_owner(seeded, owner="platform-team", rotation_method="console, then envman rotate")
    found = check(seeded, ["production"], rule="E008")
    assert len(found) == 1 and found[0].message.endswith("no rollback value: this blocks go-live")
    assert "envman owner" not in found[0].fix


def test_e008_passes_with_owner_method_and_rollback(seeded: Any) -> None:
    """Owner and method recorded, and a rotation kept the old key as rollback value: the gate opens."""
    set_owner(seeded, owner="platform-team", rotation_method="console, then envman rotate")
    set_var(seeded.open(), "production", KEY, "sk-prod-dddddddddddddddd4444")
    assert check(seeded, ["production"], rule="E008") == []


def test_e008_per_environment_metadata_counts(seeded: Any) -> None:
    """Owner and method recorded in the environment's own metadata satisfy the gate as well."""
    prod = seeded.open().store.current("production")
    meta = VarMeta(owner="ops", rotation_method="console", rollback=prod.secrets[KEY])
    plan = would_be(seeded, "production", meta={KEY: meta})
    assert check(seeded, ["production"], rule="E008", profiles={"production": plan}) == []


# -- E009 --------------------------------------------------------------------------------------

def _rotated(pd: Any, env: str, when: datetime, days: int = 30) -> Profile:
    p = pd.open().store.current(env)
    meta = p.meta.get(KEY, VarMeta())._replace(rotated_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"), rotation_days=days)
    return p._replace(meta={**p.meta, KEY: meta})


NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_e009_overdue(seeded: Any) -> None:
    """Rotated 40 days ago with a 30-day period: overdue by 10 days; an error in production, a warning before it."""
    plans = {env: _rotated(seeded, env, NOW - timedelta(days=40)) for env in ("staging", "production")}
    found = check(seeded, ["staging", "production"], rule="E009", profiles=plans, now=NOW)
    assert [(f.env, f.severity) for f in found] == [("production", "error"), ("staging", "warning")]
    assert "overdue for rotation by 10 days" in found[0].message and "envman rotate production" in found[0].fix


def test_e009_due_soon_is_a_warning(seeded: Any) -> None:
    """Due within 14 days: a warning, even in production."""
    plan = _rotated(seeded, "production", NOW - timedelta(days=20))
    found = check(seeded, ["production"], rule="E009", profiles={"production": plan}, now=NOW)
    assert [(f.severity, "due for rotation on 2026-06-11" in f.message) for f in found] == [("warning", True)]


def test_e009_period_from_the_schema(seeded: Any) -> None:
    """rotation_days in the schema applies when the environment records none."""
    set_owner(seeded, rotation_days=1)
    later = datetime.now(UTC) + timedelta(days=3)
    assert [f.env for f in check(seeded, rule="E009", now=later) if f.severity == "error"] == ["production"]


def test_e009_recent_rotation_or_no_period_passes(seeded: Any) -> None:
    """Rotated 5 days ago with a 90-day period, or no period at all: no E009."""
    plan = _rotated(seeded, "production", NOW - timedelta(days=5), days=90)
    assert check(seeded, ["production"], rule="E009", profiles={"production": plan}, now=NOW) == []
    assert check(seeded, rule="E009") == []


# -- E010 --------------------------------------------------------------------------------------

def test_e010_hand_edited_profile(seeded: Any) -> None:
    """Changing production.toml by hand is detected against its ledger entry."""
    path = seeded.root / "environments" / "production.toml"
    path.write_text(path.read_text().replace('AI_LOG_LEVEL = "info"', 'AI_LOG_LEVEL = "debug"'))
    found = check(seeded, rule="E010")
    assert [(f.env, f.severity, f.file) for f in found] == [("production", "error", "environments/production.toml")]
    assert "outside envman" in found[0].message


def test_e010_broken_ledger_chain(seeded: Any) -> None:
    """Editing an old ledger line breaks the chain: a project-wide error."""
    ledger = seeded.root / "environments" / "ledger.jsonl"
    lines = ledger.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b'"actor":"tester"', b'"actor":"mallory"')
    ledger.write_bytes(b"\n".join(lines))
    found = check(seeded, rule="E010")
    assert any(f.env == "" and f.severity == "error" and "chain" in f.message for f in found)


def test_e010_malformed_profile_does_not_stop_the_other_checks(seeded: Any) -> None:
    """An unreadable profile is an E010 finding; the other environments are still checked."""
    (seeded.root / "environments" / "staging.toml").write_text("not = [valid")
    found = check(seeded)
    assert any(f.rule == "E010" and f.env == "staging" for f in found)
    assert any(f.rule == "E008" and f.env == "production" for f in found)


def test_e010_untouched_store_passes(seeded: Any) -> None:
    """Everything written by envman: no E010."""
    assert check(seeded, rule="E010") == []


# -- E011 --------------------------------------------------------------------------------------

def test_e011_secret_type_in_plaintext(seeded: Any) -> None:
    """A secret-typed variable found under [values] (a hand edit) is an error."""
    stored = would_be(seeded, "staging", drop=(KEY,))
    plan = stored._replace(values={**stored.values, KEY: "sk-stag-bbbbbbbbbbbbbbbb2222"})
    found = check(seeded, ["staging"], rule="E011", profiles={"staging": plan})
    assert [(f.var, f.severity) for f in found] == [(KEY, "error")]
    assert "plaintext" in found[0].message and "rotate" in found[0].fix


def test_e011_key_shaped_string_value(seeded: Any) -> None:
    """A string variable whose value looks like an API key is an error; a credential-like name only warns."""
    plan = would_be(seeded, "test", values={"BACKUP": "sk-abcdefghijklmnopqrst", "WEBHOOK_TOKEN": "aZ3kP9qL2mX7vB1n"})
    found = check(seeded, ["test"], rule="E011", profiles={"test": plan})
    assert sorted((f.var, f.severity) for f in found) == [("BACKUP", "error"), ("WEBHOOK_TOKEN", "warning")]


@pytest.mark.parametrize(("value", "key"), [
    ("sk-abcdefghijklmnopqrst", True), ("sk-ant-api03-abcdefghijklmnop", True), ("ghp_" + "a" * 36, True),
    ("AKIAABCDEFGHIJKLMNOP", True), ("-----BEGIN OPENSSH PRIVATE KEY-----", True), ("envman-sk1:abc", True),
    ("deepseek-chat", False), ("https://api.alltkn.com/api/v1", False), ("sk-short", False),
])
def test_looks_like_key(value: str, key: bool) -> None:
    """Key shapes of common providers are recognised; ordinary values are not."""
    assert looks_like_key(value) is key


_SHAPES = st.sampled_from(["sk-", "sk_live_", "rk_test_", "ghp_", "github_pat_", "glpat-", "xoxb-", "AKIA", "AIza", "hf_",
                           "envman-sk1:", "-----BEGIN RSA PRIVATE KEY-----", "", " ", "s", "gh", "AKI", "-----BEGIN"])


@given(_SHAPES, st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_- :", max_size=50))
def test_looks_like_key_prefix_screen_agrees_with_the_pattern(prefix: str, rest: str) -> None:
    """The prefix screen before the pattern never changes the answer."""
    import re

    from envman.checks import _KEY_VALUE

    value = prefix + rest
    assert looks_like_key(value) is (re.match(_KEY_VALUE, value.strip(), re.VERBOSE) is not None)


def test_e011_keys_file_readable_by_others(seeded: Any) -> None:
    """The private keys file (ENVMAN_KEYS_FILE) with mode 0644 is an error; 0600 passes."""
    seeded.keys_file.chmod(0o644)
    found = check(seeded, rule="E011")
    assert [(f.env, f.severity) for f in found] == [("", "error")] and "chmod 600" in found[0].fix
    seeded.keys_file.chmod(0o600)
    assert check(seeded, rule="E011") == []


def _e011_with_file(pd: Any, name: str, text: str, mode: int) -> list[Finding]:
    """Write ``name`` in the project root with ``text`` and ``mode``; the E011 findings that follow."""
    path = pd.root / name
    path.write_text(text)
    path.chmod(mode)
    return check(pd, rule="E011")


def test_e011_keys_file_inside_the_project_must_be_gitignored(project: Any) -> None:
    """.envman-keys in the project root is fine when .gitignore lists it, an error otherwise."""
    found = _e011_with_file(project, ".envman-keys", "ENVMAN_PRIVATE_KEY_TEST=x\n", 0o600)
    assert [f.file for f in found] == [".envman-keys"] and ".gitignore" in found[0].message
    (project.root / ".gitignore").write_text(".envman-keys\n")
    assert check(project, rule="E011") == []


def test_e011_dotenv_with_secrets_readable_by_others(seeded: Any) -> None:
    """A .env.production with a key, mode 0644, is an error; 0600 or a .env.example template pass."""
    found = _e011_with_file(seeded, ".env.production", "ALLTKN_API_KEY=sk-prod-cccccccccccccccc3333\n", 0o644)
    assert [(f.file, f.severity) for f in found] == [(".env.production", "error")]
    (seeded.root / ".env.production").chmod(0o600)
    assert check(seeded, rule="E011") == []
    assert _e011_with_file(seeded, ".env.example", "ALLTKN_API_KEY=sk-your-key-here-0000000000\n", 0o644) == []


def test_e011_encrypted_secrets_pass(seeded: Any) -> None:
    """The example stores its key encrypted: no E011."""
    assert check(seeded, rule="E011") == []


# -- ignoring, selecting, would-be profiles ----------------------------------------------------

def test_ignore_argument(seeded: Any) -> None:
    """--ignore skips rules, comma-separated or repeated, case-insensitive."""
    set_var(seeded.open(), "staging", URL, "https://alltkn.com")
    assert check(seeded, ignore=["e008,E003"]) == []
    assert check(seeded, ignore=["E008", "E003"]) == []


def test_ignore_unknown_rule_is_a_usage_error(seeded: Any) -> None:
    """A typo in --ignore is refused rather than silently ignoring nothing."""
    with pytest.raises(UsageError, match="E09"):
        check(seeded, ignore=["E09"])


def test_ignore_project_wide_in_manifest(seeded: Any) -> None:
    """[check] ignore = ["E008"] in envman.toml skips the rule for every environment."""
    with (seeded.root / "envman.toml").open("a") as fh:
        fh.write('\n[check]\nignore = ["E008"]\n')
    assert check(seeded) == []


def test_ignore_project_wide_rejects_bad_ids(seeded: Any) -> None:
    """An unknown id in [check] ignore is an input error naming envman.toml."""
    with (seeded.root / "envman.toml").open("a") as fh:
        fh.write('\n[check]\nignore = ["W001"]\n')
    with pytest.raises(InvalidValue, match=r"envman\.toml"):
        check(seeded)


def test_ignore_per_variable(seeded: Any) -> None:
    """ignore = ["E008"] on ALLTKN_API_KEY skips E008 for that variable only."""
    def fn(doc: Any) -> None:
        doc["variables"][KEY]["ignore"] = ["E008"]
    edit(seeded, fn)
    set_var(seeded.open(), "test", "OTHER_SECRET", "abcdefghijklmnop", new_type="secret")
    found = check(seeded, rule="E008")
    assert {f.var for f in found} == {"OTHER_SECRET"}


def test_selected_environments_only(seeded: Any) -> None:
    """check ENV reports that environment (and project-wide findings) only."""
    assert {f.env for f in check(seeded, ["staging"])} == {"staging"}


def test_unknown_environment(seeded: Any) -> None:
    """Asking for an environment the project lacks is a NotFound naming the known ones."""
    with pytest.raises(NotFound, match="qa"):
        check(seeded, ["qa"])


def test_would_be_profile_replaces_stored_state(seeded: Any) -> None:
    """Rules run on the given profile, not the stored one: a clean plan passes, a bad plan fails."""
    bad = would_be(seeded, "staging", values={URL: "https://api.alltkn.com/api/v1/chat/completions"})
    assert [f.rule for f in check(seeded, ["staging"], profiles={"staging": bad}) if f.severity == "error"] == ["E003"]
    assert check(seeded, ["staging"], profiles={"staging": would_be(seeded, "staging")}, ignore=["E008"]) == []
    # the stored file is untouched, so no E010 either
    assert seeded.open().store.current("staging").values[URL] == "https://api.alltkn.com/api/v1"


def test_has_errors() -> None:
    """has_errors is true only for error-level findings."""
    warn = Finding("E009", "warning", "test", "X", "m", "f")
    assert not has_errors([warn]) and has_errors([warn, warn._replace(severity="error")])


def test_checks_never_decrypt(seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """All rules run with no private key available at all."""
    monkeypatch.delenv("ENVMAN_KEYS_FILE")
    assert {f.rule for f in check(seeded)} == {"E008"}
    assert os.environ.get("ENVMAN_PRIVATE_KEY_PRODUCTION") is None


# -- properties ----------------------------------------------------------------------------------

_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@given(st.text(max_size=200))
def test_url_issues_never_raises_and_never_quotes_a_query(text: str) -> None:
    """Any text gives a list of (rule, severity, message, fix); a secret in its query is never repeated."""
    secret = "sk-PROPERTYSECRET0123456789"
    for rule, severity, message, fix in url_issues(text + "?k=" + secret):
        assert rule in {"E003", "E004"} and severity in {"error", "warning"}
        assert secret not in message + fix


@given(st.lists(_segment, max_size=3), st.sampled_from(ENDPOINT_SUFFIXES))
def test_any_api_root_plus_an_endpoint_is_an_error(path: list[str], suffix: str) -> None:
    """Whatever the root's path, appending an endpoint suffix is an E003 error that suggests the root.

    (A root ending in /chat plus /completions reads as the longer endpoint /chat/completions: that
    URL's root is genuinely ambiguous, so the property excludes it.)"""
    root = "https://api.example.com" + "".join("/" + p for p in path)
    assume(not any(len(other) > len(suffix) and (root + suffix).endswith(other) for other in ENDPOINT_SUFFIXES))
    issues = url_issues(root + suffix)
    assert ("E003", "error") in [(r, s) for r, s, _, _ in issues]
    assert any(root in fix for _, _, _, fix in issues)


@given(st.sampled_from(SCHEMA), st.sampled_from(["", " ", "\t"]), st.sampled_from(["", " "]))
def test_schema_names_with_stray_whitespace_are_errors(name: str, before: str, after: str) -> None:
    """A schema name with whitespace around it is always an E006 error naming the real name; exact names pass."""
    found = near_miss_findings([before + name + after], SCHEMA)
    if before or after:
        assert [(f.severity, f.var) for f in found] == [("error", name)]
    else:
        assert found == []
