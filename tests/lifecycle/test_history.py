"""`envman history` filters: environment, variable, event, since, limit — and clean errors for bad filters."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def story(live, cli):  # type: ignore[no-untyped-def]
    """A few lifecycle events on top of the live project."""
    cli("set", "staging", "ALLTKN_DEFAULT_MODEL", "deepseek-reasoner")
    cli("mark-good", "staging", "--note", "smoke ok")
    assert cli("promote", "staging", "production", "--yes").exit_code == 0
    return live


def _events(cli, *args: str) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    r = cli("history", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_filters_combine(story, cli) -> None:  # type: ignore[no-untyped-def]
    """--event, --var and ENV narrow the newest-first list; --limit stops early."""
    promote = _events(cli, "production", "--event", "promote")
    assert len(promote) == 1 and promote[0]["detail"]["from_env"] == "staging"
    model = _events(cli, "--var", "ALLTKN_DEFAULT_MODEL")
    assert [e["env"] for e in model][:2] == ["production", "staging"]
    assert [e["event"] for e in _events(cli, "staging", "--limit", "2")] == ["mark-good", "set"]
    everything = _events(cli)
    assert [e["seq"] for e in everything] == sorted((e["seq"] for e in everything), reverse=True)


def test_since_accepts_dates_times_and_ages(story, cli) -> None:  # type: ignore[no-untyped-def]
    """--since takes a date, a date-time (with or without Z) or an age; the future excludes everything."""
    total = len(_events(cli))
    assert len(_events(cli, "--since", "2000-01-01")) == total
    assert len(_events(cli, "--since", "2000-01-01T00:00:00Z")) == total
    assert len(_events(cli, "--since", "1d")) == total
    assert _events(cli, "--since", "2999-01-01") == []


def test_text_output_shows_lifecycle_summaries(story, cli) -> None:  # type: ignore[no-untyped-def]
    """The table shows what a promote and a mark-good did, not just their names."""
    out = cli("history", "--limit", "3").stdout
    assert "promote staging@" in out and "known good: smoke ok" in out


@pytest.mark.parametrize(("args", "words"), [
    (["--since", "yesterday"], "invalid --since"),
    (["--since", "2026-13-45"], "invalid --since"),
    (["--var", "lower-case"], "invalid variable name"),
    (["nowhere"], "unknown environment"),
    (["--limit", "0"], "--limit"),
])
def test_bad_filters_are_refused(story, cli, args: list[str], words: str) -> None:  # type: ignore[no-untyped-def]
    """A filter that could only ever match nothing by mistake is an error (exit 2), not an empty list."""
    r = cli("history", *args)
    assert r.exit_code == 2 and words in r.stderr and "Traceback" not in r.output
