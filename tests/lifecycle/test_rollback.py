"""rollback: restore the last known good (or a named) version exactly, as a new version."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envman.diff import diff_profiles
from envman.errors import ConflictError, NotFound, UsageError
from envman.lifecycle import apply_rollback, mark_good, plan_rollback, rotate, set_owner
from envman.ops import Project, set_var


def _break_production(p: Project) -> None:
    set_var(p, "production", "ALLTKN_BASE_URL", "https://api.alltkn.com/api/v1/chat/completions")
    rotate(p, "production", "ALLTKN_API_KEY", "sk-prod-badbadbadbadbadbad9999")


def test_rollback_restores_last_good_byte_for_byte(project_api) -> None:  # type: ignore[no-untyped-def]
    """Values and ciphertexts of the last known good version come back exactly; the secret still decrypts."""
    p = project_api
    good = mark_good(p, "production").entry.version
    stable = p.store.version("production", good)
    _break_production(p)
    plan = plan_rollback(p, "production")
    assert plan.target_version == good and plan.target_good
    assert set(plan.diff.names()) == {"ALLTKN_API_KEY", "ALLTKN_BASE_URL"}
    change = apply_rollback(p, plan)
    now = p.store.current("production")
    assert now.version == change.profile.version == plan.current_version + 1
    assert now.values == stable.values
    assert {k: r.ciphertext for k, r in now.secrets.items()} == {k: r.ciphertext for k, r in stable.secrets.items()}
    assert p.reveal("production", "ALLTKN_API_KEY", now.secrets["ALLTKN_API_KEY"]).reveal() == \
        p.reveal("production", "ALLTKN_API_KEY", stable.secrets["ALLTKN_API_KEY"]).reveal()
    e = change.entry
    assert e.event == "rollback" and e.detail["from_version"] == plan.current_version and e.detail["to_version"] == good


def test_history_is_never_rewritten(project_api) -> None:  # type: ignore[no-untyped-def]
    """After a rollback every earlier version is still readable as it was."""
    p = project_api
    mark_good(p, "production")
    _break_production(p)
    before = {n: p.store.version("production", n).to_toml() for n in range(1, p.store.current("production").version + 1)}
    apply_rollback(p, plan_rollback(p, "production"))
    assert {n: p.store.version("production", n).to_toml() for n in before} == before


def test_no_known_good_version_fails_cleanly(seeded) -> None:  # type: ignore[no-untyped-def]
    """Without a known-good version the plan raises NotFound naming verify and mark-good, and nothing changes."""
    before = seeded.snapshot()
    with pytest.raises(NotFound) as exc:
        plan_rollback(seeded.open(), "production")
    assert "envman verify production" in exc.value.hint and "envman mark-good production" in exc.value.hint
    assert seeded.snapshot() == before


def test_only_older_good_versions_count(project_api) -> None:  # type: ignore[no-untyped-def]
    """When only the current version is known good there is nothing older to roll back to."""
    p = project_api
    mark_good(p, "production")
    with pytest.raises(NotFound, match="older than its current version"):
        plan_rollback(p, "production")


def test_rollback_to_a_named_version(project_api) -> None:  # type: ignore[no-untyped-def]
    """--to N restores version N even if it was never marked good; the plan says it is not known good."""
    p = project_api
    set_var(p, "production", "AI_LOG_LEVEL", "debug")
    plan = plan_rollback(p, "production", 1)
    assert plan.target_version == 1 and not plan.target_good
    apply_rollback(p, plan)
    assert diff_profiles(p.store.version("production", 1), p.store.current("production")).empty


@pytest.mark.parametrize(("to", "error"), [("-1", UsageError), ("abc", UsageError), ("0", UsageError), ("99999", NotFound),
                                           ("latest", UsageError)])
def test_bad_targets(project_api, to: str, error: type[Exception]) -> None:  # type: ignore[no-untyped-def]
    """Negative, non-numeric, zero, missing and current versions are refused with a clean error."""
    with pytest.raises(error):
        plan_rollback(project_api, "production", to)


def test_rollback_twice_does_not_guess(project_api) -> None:  # type: ignore[no-untyped-def]
    """Right after a rollback, another rollback has nothing to restore and says to name a version."""
    p = project_api
    mark_good(p, "production")
    _break_production(p)
    apply_rollback(p, plan_rollback(p, "production"))
    with pytest.raises(UsageError, match="already holds the values") as exc:
        plan_rollback(p, "production")
    assert "--to N" in exc.value.hint


def test_ownership_recorded_now_is_kept(project_api) -> None:  # type: ignore[no-untyped-def]
    """Owners recorded after the good version survive a rollback; the rotation facts follow the restored value."""
    p = project_api
    good = mark_good(p, "production").entry.version
    stable = p.store.version("production", good).meta["ALLTKN_API_KEY"]
    _break_production(p)
    set_owner(p, "production", "ALLTKN_API_KEY", owner="bob")
    apply_rollback(p, plan_rollback(p, "production"))
    meta = p.store.current("production").meta["ALLTKN_API_KEY"]
    assert meta.owner == "bob"
    assert (meta.rotated_at, meta.rollback) == (stable.rotated_at, stable.rollback)


def test_rollback_reads_no_history(project_api, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Plan and apply use the head's known-good index and single version files, never the ledger's entries."""
    p = project_api
    mark_good(p, "production")
    _break_production(p)

    def forbidden(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("rollback read the whole ledger")

    monkeypatch.setattr(type(p.store), "entries", forbidden)
    monkeypatch.setattr(type(p.store), "entries_newest_first", forbidden)
    apply_rollback(p, plan_rollback(p, "production"))


def test_apply_refuses_when_env_changed_after_the_plan(project_api, live) -> None:  # type: ignore[no-untyped-def]
    """Check-and-set: a write between plan and apply makes apply refuse without writing."""
    p = project_api
    mark_good(p, "production")
    _break_production(p)
    plan = plan_rollback(p, "production")
    set_var(p, "production", "AI_LOG_LEVEL", "error")
    before = live.snapshot()
    with pytest.raises(ConflictError):
        apply_rollback(p, plan)
    assert live.snapshot() == before


@settings(deadline=None, max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(level=st.sampled_from(["debug", "info", "warn", "error"]), pick=st.integers(0, 10_000))
def test_rollback_to_n_then_diff_with_n_is_empty(live, level: str, pick: int) -> None:  # type: ignore[no-untyped-def]
    """Property: for any earlier version N, rollback --to N then diff(N, current) shows nothing."""
    p = Project.open(live.root)
    if p.store.current("production").values.get("AI_LOG_LEVEL") != level:
        set_var(p, "production", "AI_LOG_LEVEL", level)
    current = p.store.current("production").version
    n = 1 + pick % (current - 1)  # any earlier version, whatever the examples before wrote
    try:
        apply_rollback(p, plan_rollback(p, "production", n))
    except UsageError as exc:  # version n may already hold the current values
        assert "already holds" in exc.message
    assert diff_profiles(p.store.version("production", n), p.store.current("production")).empty


def test_cli_rollback_plan_and_confirmation(live, cli) -> None:  # type: ignore[no-untyped-def]
    """The CLI shows current → target first; --dry-run and a missing --yes change nothing; --yes applies."""
    cli("mark-good", "production")
    cli("set", "production", "AI_REQUEST_TIMEOUT_MS", "1")
    before = live.snapshot()
    dry = cli("rollback", "production", "--dry-run")
    assert dry.exit_code == 0 and "~ AI_REQUEST_TIMEOUT_MS  1 → 60000" in dry.stdout
    no = cli("rollback", "production")
    assert no.exit_code == 2 and "--yes" in no.stderr
    assert live.snapshot() == before
    ok = cli("rollback", "production", "--yes")
    assert ok.exit_code == 0, ok.output
    assert cli("get", "production", "AI_REQUEST_TIMEOUT_MS").stdout.strip() == "60000"


def test_cli_rollback_without_good_version(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """`envman rollback` with nothing known good exits 2 naming both ways to attest a version; files unchanged."""
    before = seeded.snapshot()
    r = cli("rollback", "production", "--yes")
    assert r.exit_code == 2
    assert "envman verify production" in r.stderr and "envman mark-good production" in r.stderr
    assert "Traceback" not in r.output
    assert seeded.snapshot() == before
