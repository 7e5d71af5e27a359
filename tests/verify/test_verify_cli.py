"""`envman verify` on the command line, in-process and as the installed executable, against the fake API."""

from __future__ import annotations

import json
from typing import Any

from tests.verify.live_api import API_KEY, Live


def good(live: Live, env: str = "staging") -> set[int]:
    """Versions of ``env`` the ledger head marks known good."""
    return {v for v, _ in live.project.open().store.head().good.get(env, [])}


def test_cli_success(live: Live, cli: Any) -> None:
    """Exit 0, each step on its own line with status and latency, and the known-good line."""
    r = cli("verify", "staging")
    assert r.exit_code == 0, r.output
    version = live.project.open().store.current("staging").version
    assert f"probe staging @ version {version}: key sk-…4f3c, model deepseek-chat, timeout 2000 ms" in r.stdout
    for step in ("models", "chat", "stream"):
        assert f"ok   {step}" in r.stdout
    assert f"verified: staging version {version} is known good (ledger #" in r.stdout
    assert "E004 warning" in r.stdout  # check warnings are shown first
    assert API_KEY not in r.output and version in good(live)


def test_cli_failure_names_the_step(live: Live, cli: Any) -> None:
    """Exit 1, FAIL on the failed step with its cause and fix, the version left unverified."""
    live.api.fail("rate_limited")
    r = cli("verify", "staging")
    assert r.exit_code == 1, r.output
    assert "FAIL models" in r.stdout and "429 on GET /models" in r.stdout
    assert "verify failed at step 'models' (rate_limited)" in r.stdout and "stays unverified" in r.stdout
    assert API_KEY not in r.output and good(live) == set()


def test_cli_json(live: Live, cli: Any) -> None:
    """--json: environment, version, ok, stage, checks, the probe report and the ledger sequence number."""
    live.api.fail("cut_stream", on=["stream"])
    r = cli("verify", "staging", "--json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert (data["environment"], data["ok"], data["stage"]) == ("staging", False, "probe")
    assert [s["step"] for s in data["probe"]["steps"]] == ["models", "chat", "stream"]
    assert data["probe"]["steps"][-1]["cause"] == "stream_incomplete"
    assert data["probe"]["key_id"] == "sk-…4f3c" and isinstance(data["ledger_seq"], int)
    assert API_KEY not in r.output


def test_cli_no_stream(live: Live, cli: Any) -> None:
    """--no-stream skips the streamed request (so a cut stream does not matter)."""
    live.api.fail("cut_stream", on=["stream"])
    r = cli("verify", "staging", "--no-stream")
    assert r.exit_code == 0, r.output
    assert "stream" not in [line.split()[1] for line in r.stdout.splitlines() if line.startswith("  ok")]


def test_cli_check_errors_stop_verify(live: Live, cli: Any) -> None:
    """Production's go-live gate (E008 error) stops verify with exit 1 before any request."""
    live.set("production", "ALLTKN_BASE_URL", live.api.base_url)
    r = cli("verify", "production")
    assert r.exit_code == 1
    assert "E008 error" in r.stdout and "verify stopped: check found errors in production" in r.stdout
    assert live.api.requests == []
    assert cli("verify", "production", "--ignore", "E008,E004").exit_code == 1  # now the probe runs: wrong key
    assert len(live.api.requests) == 1


def test_cli_without_private_key(live: Live, cli: Any) -> None:
    """No private key: exit 2 with one line naming both ways to provide it."""
    r = cli("verify", "staging", env={"ENVMAN_KEYS_FILE": ""})
    assert r.exit_code == 2
    assert "ENVMAN_PRIVATE_KEY_STAGING" in r.stderr and "keychain" in r.stderr and "Traceback" not in r.output


def test_history_shows_verify_summary(live: Live, cli: Any) -> None:
    """The ledger's verify events are visible in `envman history` with their outcome."""
    cli("verify", "staging")
    r = cli("history", "staging", "--event", "verify")
    assert "verify" in r.stdout and "passed: models, chat, stream" in r.stdout


def test_subprocess_success_and_failure(live: Live, envman: Any) -> None:
    """The installed executable verifies against the fake API: success marks good, 404 fails with exit 1."""
    ok = envman("verify", "staging", cwd=live.root)
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert "is known good" in ok.stdout
    live.set("staging", "ALLTKN_BASE_URL", live.api.root_url + "/wrong")
    bad = envman("verify", "staging", "--json", cwd=live.root)
    assert bad.exit_code == 1
    data = json.loads(bad.stdout)
    assert data["probe"]["steps"][0]["cause"] == "not_found_base_url"
    assert API_KEY not in ok.stdout + ok.stderr + bad.stdout + bad.stderr + live.ledger_text()
    assert len(good(live)) == 1


def test_help_has_an_example(cli: Any) -> None:
    """verify --help explains the steps and shows an example."""
    r = cli("verify", "--help")
    assert r.exit_code == 0 and "Example:" in r.stdout and "stream=true" in r.stdout
