"""`envman verify ENV`: checks, then the live probe against a real fake API on 127.0.0.1, recorded in the ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envman.errors import InvalidValue, KeyUnavailable, NotFound
from envman.manifest import edit_manifest
from envman.verify import DEFAULT_TIMEOUT_MS, ProbeTarget, probe_target, verify
from tests.fake_openai import FakeOpenAI
from tests.verify.live_api import API_KEY, Live


def last_entry(live: Live) -> Any:
    """The newest ledger entry."""
    return next(live.project.open().store.entries_newest_first())


def good(live: Live, env: str = "staging") -> set[int]:
    """Versions of ``env`` the ledger head marks known good."""
    return {v for v, _ in live.project.open().store.head().good.get(env, [])}


def assert_key_hidden(live: Live, *texts: str) -> None:
    """The plaintext key appears in no output and nowhere in the ledger or profiles."""
    for text in texts:
        assert API_KEY not in text
    assert API_KEY not in live.ledger_text()
    for path in (live.root / "environments").rglob("*.toml"):
        assert API_KEY not in path.read_text()


# -- success ---------------------------------------------------------------------------------

def test_success_marks_the_version_known_good(live: Live) -> None:
    """All three steps pass: the version becomes known good and one verify entry records each step."""
    version = live.project.open().store.current("staging").version
    result = verify(live.project.open(), "staging")

    assert result.ok and result.stage == "probe" and result.version == version
    assert [s.step for s in result.report.steps] == ["models", "chat", "stream"]
    assert version in good(live)
    entry = last_entry(live)
    assert (entry.event, entry.env, entry.version, entry.seq) == ("verify", "staging", version, result.entry.seq)
    assert entry.marks_good and entry.detail["ok"] is True
    assert entry.keys == {"ALLTKN_API_KEY": "sk-…4f3c"}
    assert entry.profile == live.project.open().store.current("staging").content_hash()
    step = entry.detail["steps"][0]
    assert set(step) == {"step", "route", "model", "status", "latency", "cause", "started_at", "error"}
    assert (step["step"], step["route"], step["status"], step["model"]) == ("models", "GET /models", 200, "deepseek-chat")
    assert [r.path for r in live.api.requests] == ["/v1/models", "/v1/chat/completions", "/v1/chat/completions"]
    assert_key_hidden(live, json.dumps(result.as_dict()))


def test_check_warnings_do_not_stop_verify(live: Live) -> None:
    """Warnings (http to 127.0.0.1 in staging, go-live facts) are reported but the probe runs."""
    result = verify(live.project.open(), "staging")
    assert result.ok
    assert {f.rule for f in result.findings} == {"E004", "E008"}
    assert all(f.severity == "warning" for f in result.findings)


def test_no_stream(live: Live) -> None:
    """stream=False runs two steps and still marks the version good."""
    result = verify(live.project.open(), "staging", stream=False)
    assert result.ok and [s.step for s in result.report.steps] == ["models", "chat"]
    assert last_entry(live).detail["stream"] is False
    assert len(live.api.requests) == 2


def test_uses_the_environments_own_timeout(live: Live) -> None:
    """The probe's timeout is the environment's AI_REQUEST_TIMEOUT_MS."""
    live.set("staging", "AI_REQUEST_TIMEOUT_MS", "3000")
    result = verify(live.project.open(), "staging")
    assert result.report.timeout_ms == 3000 == last_entry(live).detail["timeout_ms"]


def _set_probe_section(root: Path, section: dict[str, str]) -> None:
    """Write ``section`` as the project's [probe] table in envman.toml."""

    def fn(doc: Any) -> None:
        doc["probe"] = section

    edit_manifest(root, fn)


def test_configurable_routes_for_other_providers(live: Live, seeded: Any) -> None:
    """[probe] models_route/chat_route let a provider with other paths be verified (base URL = server root)."""
    _set_probe_section(seeded.root, {"models_route": "/v1/models", "chat_route": "/v1/chat/completions"})
    live.set("staging", "ALLTKN_BASE_URL", live.api.root_url)
    result = verify(live.project.open(), "staging")
    assert result.ok, result.report.failed_step
    assert result.report.steps[0].route == "GET /v1/models"


# -- failures ----------------------------------------------------------------------------------

def _fails(live: Live, step: str, cause: str, *, stream: bool = True) -> Any:
    """Run verify expecting failure at ``step`` with ``cause``; the version stays unverified, the ledger says why."""
    version = live.project.open().store.current("staging").version
    result = verify(live.project.open(), "staging", stream=stream)
    failed = result.report.failed_step
    assert not result.ok and failed is not None
    assert (failed.step, failed.cause) == (step, cause), failed
    assert version not in good(live)
    entry = last_entry(live)
    assert (entry.event, entry.version, entry.marks_good) == ("verify", version, False)
    assert entry.detail["ok"] is False and entry.detail["failed_step"] == step and entry.detail["cause"] == cause
    assert entry.detail["summary"] == f"failed at {step}: {cause}"
    assert_key_hidden(live, json.dumps(result.as_dict()), failed.message, failed.error)
    return result


def test_wrong_key(live: Live) -> None:
    """A key the API does not accept: 401 at models, cause auth, the fix names rotate."""
    live.set("staging", "ALLTKN_API_KEY", "sk-verify-wrong-00000000000000000000000000000000")
    result = _fails(live, "models", "auth")
    assert result.report.failed_step.status == 401 and "envman rotate" in result.report.failed_step.message


def test_wrong_key_echoed_by_a_careless_api_stays_masked(live: Live) -> None:
    """An API that repeats the bearer key in its error text never gets it into the ledger or output."""
    live.api.fail("unauthorized")
    live.api.echo_key = True
    result = _fails(live, "models", "auth")
    assert "sk-…4f3c" in result.report.failed_step.error


def test_base_url_404(live: Live) -> None:
    """A base URL without the API prefix: 404 at models, blamed on the base URL."""
    live.set("staging", "ALLTKN_BASE_URL", live.api.root_url + "/api")
    result = _fails(live, "models", "not_found_base_url")
    assert "base URL" in result.report.failed_step.message


def test_html_page(live: Live) -> None:
    """The base URL is a web site answering HTML: an error naming the web page."""
    live.api.fail("html")
    result = _fails(live, "models", "html_page")
    assert "HTML" in result.report.failed_step.message


def test_rate_limited(live: Live) -> None:
    """429: rate limited or out of quota."""
    live.api.fail("rate_limited")
    assert _fails(live, "models", "rate_limited").report.failed_step.status == 429


def test_slow_beyond_timeout(live: Live) -> None:
    """An answer slower than the environment's timeout fails as a timeout."""
    live.set("staging", "AI_REQUEST_TIMEOUT_MS", "1000")
    live.api.fail("slow", delay=3)
    result = _fails(live, "models", "timeout")
    assert "1000 ms" in result.report.failed_step.message


def test_stream_cut(live: Live) -> None:
    """A stream that ends before data: [DONE] fails the stream step after models and chat passed."""
    live.api.fail("cut_stream", on=["stream"])
    result = _fails(live, "stream", "stream_incomplete")
    assert [s.ok for s in result.report.steps] == [True, True, False]


def test_model_not_offered(live: Live) -> None:
    """A default model the API does not offer fails the chat step, listing what is offered."""
    live.set("staging", "ALLTKN_DEFAULT_MODEL", "deepseek-chatt")
    result = _fails(live, "chat", "model_not_offered")
    assert "deepseek-chat" in result.report.failed_step.message


def test_failure_then_success(live: Live) -> None:
    """A failed run leaves the version unverified; after the fix (a new version) that version is marked good."""
    live.api.fail("rate_limited")
    first = verify(live.project.open(), "staging")
    live.api.fail(None)
    live.set("staging", "AI_LOG_LEVEL", "warn")
    second = verify(live.project.open(), "staging")
    assert not first.ok and second.ok
    assert good(live) == {second.version} and first.version not in good(live)


# -- what stops verify before the probe --------------------------------------------------------

def test_check_errors_stop_before_the_probe(live: Live) -> None:
    """An error finding (here: an endpoint URL) stops verify: no request, no ledger entry, not good."""
    live.set("staging", "ALLTKN_BASE_URL", live.api.base_url + "/chat/completions")
    seq = last_entry(live).seq
    result = verify(live.project.open(), "staging")
    assert (result.ok, result.stage, result.report, result.entry) == (False, "check", None, None)
    assert any(f.rule == "E003" and f.severity == "error" for f in result.findings)
    assert live.api.requests == [] and last_entry(live).seq == seq and good(live) == set()


def test_ignore_passes_through_to_check(live: Live) -> None:
    """Production's go-live gate (E008) stops verify unless ignored for this run."""
    live.set("production", "ALLTKN_BASE_URL", live.api.base_url)
    live.set("production", "ALLTKN_API_KEY", API_KEY.replace("2b7e", "0000"))
    assert verify(live.project.open(), "production").stage == "check"
    result = verify(live.project.open(), "production", ignore=["E008"])
    assert result.stage == "probe"  # the API refuses this key, but the probe ran


def test_missing_private_key(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the environment's private key verify refuses with a hint and records nothing."""
    monkeypatch.delenv("ENVMAN_KEYS_FILE")
    seq = last_entry(live).seq
    with pytest.raises(KeyUnavailable, match="ENVMAN_PRIVATE_KEY_STAGING"):
        verify(live.project.open(), "staging")
    assert last_entry(live).seq == seq and live.api.requests == []


def test_missing_probe_variable(live: Live) -> None:
    """A probe variable that is not set (and not required) is a NotFound naming it."""
    def fn(doc: Any) -> None:
        doc["variables"]["ALLTKN_DEFAULT_MODEL"]["required"] = False
    edit_manifest(live.root, fn)
    from envman.ops import unset_var

    unset_var(live.project.open(), "staging", "ALLTKN_DEFAULT_MODEL")
    with pytest.raises(NotFound, match="ALLTKN_DEFAULT_MODEL is not set in staging"):
        verify(live.project.open(), "staging")


# -- which variables feed the probe --------------------------------------------------------------

def test_probe_target_defaults_by_schema_type(seeded: Any) -> None:
    """Without [probe], the single url/secret/model/duration_ms variables are used."""
    target = probe_target(seeded.open().manifest)
    assert target == ProbeTarget("ALLTKN_BASE_URL", "ALLTKN_API_KEY", "ALLTKN_DEFAULT_MODEL", "AI_REQUEST_TIMEOUT_MS")


def test_probe_target_prefers_names_among_several(seeded: Any) -> None:
    """Two secrets: the one named *API_KEY* feeds the probe; no timeout variable means the default timeout."""
    from envman.ops import set_var

    set_var(seeded.open(), "test", "WEBHOOK_SECRET", "whsec-abcdefghijklmnop", new_type="secret")
    def fn(doc: Any) -> None:
        del doc["variables"]["AI_REQUEST_TIMEOUT_MS"]
    edit_manifest(seeded.root, fn)
    target = probe_target(seeded.open().manifest)
    assert target.api_key_var == "ALLTKN_API_KEY" and target.timeout_var == ""
    assert DEFAULT_TIMEOUT_MS == 60_000


def test_probe_target_ambiguous_or_unknown(seeded: Any) -> None:
    """Two secrets with no tie-breaker ask for [probe]; a [probe] name outside the schema is refused."""
    from envman.ops import set_var

    set_var(seeded.open(), "test", "OTHER_API_KEY", "sk-other-abcdefghijklmnop", new_type="secret")
    with pytest.raises(InvalidValue, match=r"\[probe\] api_key_var"):
        probe_target(seeded.open().manifest)
    _set_probe_section(seeded.root, {"api_key_var": "ALLTKN_APIKEY"})
    with pytest.raises(InvalidValue, match="not in the schema"):
        probe_target(seeded.open().manifest)


def test_probe_target_bad_route(seeded: Any) -> None:
    """A route must be a path starting with '/'."""
    _set_probe_section(seeded.root, {"chat_route": "chat/completions?x=1"})
    with pytest.raises(InvalidValue, match="chat_route"):
        probe_target(seeded.open().manifest)


def test_fake_api_fixture_is_local(fake_api: FakeOpenAI) -> None:
    """The API under test is on 127.0.0.1: no test touches the internet."""
    assert fake_api.base_url.startswith("http://127.0.0.1:")
