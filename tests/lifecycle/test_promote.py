"""promote: a pure plan decided by the schema, refusals before any write, one new DST version."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envman.diff import diff_profiles
from envman.errors import ConflictError, NotFound, UsageError
from envman.lifecycle import apply_promote, mark_good, plan_promote, set_owner
from envman.manifest import edit_manifest
from envman.ops import Project, set_var

MOVABLE = {"ALLTKN_DEFAULT_MODEL", "AI_REQUEST_TIMEOUT_MS", "AI_LOG_LEVEL", "ALLTKN_BASE_URL"}


def _edit_schema(root, var: str, **fields: object) -> None:  # type: ignore[no-untyped-def]
    def edit(doc):  # type: ignore[no-untyped-def]
        for key, value in fields.items():
            doc["variables"][var][key] = value

    edit_manifest(root, edit)


def test_plan_moves_plain_values_and_keeps_secrets(project_api) -> None:  # type: ignore[no-untyped-def]
    """Plain values move, the secret stays (its default policy is keep), and the plan says why."""
    p = project_api
    set_var(p, "staging", "ALLTKN_DEFAULT_MODEL", "deepseek-reasoner")
    plan = plan_promote(p, "staging", "production")
    assert [(v.name, v.status) for v in plan.diff.differences] == [("ALLTKN_DEFAULT_MODEL", "changed")]
    assert [k.name for k in plan.kept] == ["ALLTKN_API_KEY"] and "secret" in plan.kept[0].reason
    assert plan.draft.secrets["ALLTKN_API_KEY"] == p.store.current("production").secrets["ALLTKN_API_KEY"]


def test_plan_writes_nothing(live) -> None:  # type: ignore[no-untyped-def]
    """Computing a plan (the dry run) leaves every file byte for byte as it was."""
    p = live.open()
    set_var(p, "staging", "AI_LOG_LEVEL", "warn")
    before = live.snapshot()
    plan = plan_promote(p, "staging", "production", force=True)
    assert not plan.diff.empty
    assert live.snapshot() == before


def test_apply_writes_one_version_with_ledger_detail(project_api) -> None:  # type: ignore[no-untyped-def]
    """Applying writes DST's next version; its ledger entry names the source version and the changed names."""
    p = project_api
    change = set_var(p, "staging", "AI_REQUEST_TIMEOUT_MS", "90000")
    mark_good(p, "staging")
    before = p.store.current("production").version
    result = apply_promote(p, plan_promote(p, "staging", "production"))
    assert result.profile.version == before + 1
    e = result.entry
    assert e.event == "promote" and e.changed == ("AI_REQUEST_TIMEOUT_MS",)
    assert e.detail["from_env"] == "staging" and e.detail["from_version"] == change.profile.version
    assert e.detail["summary"] == f"promote staging@{change.profile.version} → production@{before + 1}"
    assert "forced" not in e.detail


def test_unverified_source_is_refused_unless_forced(project_api) -> None:  # type: ignore[no-untyped-def]
    """A source version with no mark-good or passing verify is refused, naming how to verify; --force overrides and is recorded."""
    p = project_api
    set_var(p, "staging", "AI_LOG_LEVEL", "warn")
    plan = plan_promote(p, "staging", "production")
    with pytest.raises(UsageError) as exc:
        apply_promote(p, plan)
    assert "not known good" in exc.value.message and "envman verify staging" in exc.value.hint
    forced = apply_promote(p, plan_promote(p, "staging", "production", force=True))
    assert forced.entry.detail["forced"] is True


def test_known_good_means_this_exact_version(project_api) -> None:  # type: ignore[no-untyped-def]
    """Marking version N good does not make N+1 good."""
    p = project_api
    mark_good(p, "staging")
    set_var(p, "staging", "AI_LOG_LEVEL", "warn")
    assert not plan_promote(p, "staging", "production").src_good


def test_promotion_order(project_api) -> None:  # type: ignore[no-untyped-def]
    """Backwards promotion and promotion into itself are refused; --any-order allows the former; skipping ahead is fine."""
    p = project_api
    with pytest.raises(UsageError, match="comes after"):
        plan_promote(p, "production", "staging")
    with pytest.raises(UsageError, match="into itself"):
        plan_promote(p, "staging", "staging")
    assert plan_promote(p, "production", "staging", any_order=True).dst == "staging"
    assert plan_promote(p, "test", "production").src == "test"


def test_pin_and_keep_policy(live) -> None:  # type: ignore[no-untyped-def]
    """A variable pinned to DST and one with promote = "keep" stay as they are in DST."""
    _edit_schema(live.root, "AI_LOG_LEVEL", pin=["production"])
    _edit_schema(live.root, "ALLTKN_BASE_URL", promote="keep")
    p = live.open()
    set_var(p, "staging", "AI_LOG_LEVEL", "warn")
    set_var(p, "staging", "ALLTKN_BASE_URL", "https://staging.alltkn.com/api/v1")
    set_var(p, "staging", "ALLTKN_DEFAULT_MODEL", "deepseek-reasoner")
    plan = plan_promote(p, "staging", "production", force=True)
    assert plan.diff.names() == ["ALLTKN_DEFAULT_MODEL"]
    reasons = {k.name: k.reason for k in plan.kept}
    assert "pinned" in reasons["AI_LOG_LEVEL"] and "keep" in reasons["ALLTKN_BASE_URL"]


def test_removal_moves_too(project_api) -> None:  # type: ignore[no-untyped-def]
    """A movable variable removed from SRC is removed from DST, shown as `removed` in the plan."""
    from envman.ops import unset_var

    p = project_api
    unset_var(p, "staging", "AI_LOG_LEVEL")
    plan = plan_promote(p, "staging", "production", force=True)
    assert [(v.name, v.status) for v in plan.diff.differences] == [("AI_LOG_LEVEL", "removed")]


def test_secret_with_move_policy_is_sealed_again_for_dst(live) -> None:  # type: ignore[no-untyped-def]
    """A secret the schema lets move is decrypted and re-encrypted for DST: same value, DST's own ciphertext."""
    from envman.ops import set_var as put

    p = live.open()
    put(p, "staging", "WEBHOOK_TOKEN", "whk-0123456789abcdef", new_type="secret")
    _edit_schema(live.root, "WEBHOOK_TOKEN", promote="move", ignore=["E001", "E008"])
    p = live.open()
    change = apply_promote(p, plan_promote(p, "staging", "production", force=True))
    src, dst = p.store.current("staging").secrets["WEBHOOK_TOKEN"], change.profile.secrets["WEBHOOK_TOKEN"]
    assert dst.ciphertext != src.ciphertext and dst.fingerprint == src.fingerprint
    assert p.reveal("production", "WEBHOOK_TOKEN", dst).reveal() == "whk-0123456789abcdef"
    assert "whk-0123456789abcdef" not in (live.root / "environments" / "ledger.jsonl").read_text()


def test_apply_refuses_when_dst_changed_after_the_plan(project_api, live) -> None:  # type: ignore[no-untyped-def]
    """Check-and-set: a change to DST between plan and apply is not overwritten; nothing is written."""
    p = project_api
    set_var(p, "staging", "AI_LOG_LEVEL", "warn")
    plan = plan_promote(p, "staging", "production", force=True)
    set_var(p, "production", "ALLTKN_DEFAULT_MODEL", "gpt-4o-mini")
    before = live.snapshot()
    with pytest.raises(ConflictError):
        apply_promote(p, plan)
    assert live.snapshot() == before


def test_check_errors_block_the_write(project_api, live, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Error-level findings on the would-be DST refuse the promote (even with --force); warnings do not."""
    from envman import checks

    def fake(project, envs=None, *, profiles=None, ignore=(), now=None, integrity=None):  # type: ignore[no-untyped-def]
        assert profiles is not None and set(profiles) == {"production"}  # the would-be profile is what is checked
        assert integrity == ("staging", "production")  # both environments read get the writers' integrity check
        return [checks.Finding("E007", "error", "production", "AI_LOG_LEVEL", "unknown log level", "use info"),
                checks.Finding("E009", "warning", "production", "ALLTKN_API_KEY", "rotation due soon", "rotate it")]

    monkeypatch.setattr(checks, "run_checks", fake)
    p = project_api
    set_var(p, "staging", "AI_LOG_LEVEL", "warn")
    plan = plan_promote(p, "staging", "production", force=True)
    assert len(plan.findings) == 2 and len(plan.errors) == 1
    before = live.snapshot()
    with pytest.raises(UsageError, match="E007: unknown log level") as exc:
        apply_promote(p, plan)
    assert "nothing was changed" in exc.value.hint
    assert live.snapshot() == before


def test_go_live_gate_blocks_a_production_secret_without_owner(seeded) -> None:  # type: ignore[no-untyped-def]
    """Promoting into the last environment is refused (E008) while its secret lacks an owner, rotation method or rollback value."""
    p = seeded.open()
    set_var(p, "staging", "AI_LOG_LEVEL", "warn")
    plan = plan_promote(p, "staging", "production", force=True)
    assert any(f.rule == "E008" and f.var == "ALLTKN_API_KEY" for f in plan.errors)
    with pytest.raises(UsageError, match="E008"):
        apply_promote(p, plan)
    set_owner(p, "production", "ALLTKN_API_KEY", owner="alice", rotation_method="console")
    still = plan_promote(p, "staging", "production", force=True)
    assert any(f.rule == "E008" for f in still.errors)  # the rollback value is still missing


def test_nothing_to_promote(project_api) -> None:  # type: ignore[no-untyped-def]
    """When DST already has SRC's promotable values the plan is empty and apply refuses to write a no-op version."""
    plan = plan_promote(project_api, "staging", "production", force=True)
    assert plan.diff.empty
    with pytest.raises(UsageError, match="already has"):
        apply_promote(project_api, plan)


def test_empty_source_is_refused(project) -> None:  # type: ignore[no-untyped-def]
    """An environment with no values yet cannot be promoted."""
    with pytest.raises(NotFound):
        plan_promote(project.open(), "staging", "production")


@settings(deadline=None, max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    model=st.sampled_from(["deepseek-chat", "deepseek-reasoner", "gpt-4o-mini"]),
    timeout=st.integers(1, 600000).map(str),
    level=st.sampled_from(["debug", "info", "warn", "error"]),
)
def test_after_promote_only_non_promotable_variables_differ(live, model: str, timeout: str, level: str) -> None:  # type: ignore[no-untyped-def]
    """Property: apply the plan, then diff SRC and DST — only variables the schema does not promote still differ."""
    p = Project.open(live.root)
    for var, value in (("ALLTKN_DEFAULT_MODEL", model), ("AI_REQUEST_TIMEOUT_MS", timeout), ("AI_LOG_LEVEL", level)):
        if p.store.current("staging").values.get(var) != value:
            set_var(p, "staging", var, value)
    plan = plan_promote(p, "staging", "production", force=True)
    if not plan.diff.empty:
        apply_promote(p, plan)
    after = diff_profiles(p.store.current("staging"), p.store.current("production"))
    assert set(after.names()) <= {k.name for k in plan.kept}
    assert not set(after.names()) & MOVABLE


def test_cli_promote_shows_plan_and_needs_yes(live, cli) -> None:  # type: ignore[no-untyped-def]
    """Without a terminal and without --yes nothing is written (exit 2); --dry-run shows the plan; --yes applies."""
    cli("set", "staging", "ALLTKN_DEFAULT_MODEL", "deepseek-reasoner")
    cli("mark-good", "staging")
    before = live.snapshot()
    r = cli("promote", "staging", "production")
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert "~ ALLTKN_DEFAULT_MODEL  deepseek-chat → deepseek-reasoner" in r.stdout  # the plan came first
    assert live.snapshot() == before
    dry = cli("promote", "staging", "production", "--dry-run")
    assert dry.exit_code == 0 and "dry run" in dry.stdout and "kept in production" in dry.stdout
    assert live.snapshot() == before
    ok = cli("promote", "staging", "production", "--yes", "--json")
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["applied"] and data["result"]["event"] == "promote"
    again = cli("promote", "staging", "production", "--yes")
    assert again.exit_code == 0 and "nothing to promote" in again.stdout


def test_cli_dry_run_reports_a_refusal(live, cli) -> None:  # type: ignore[no-untyped-def]
    """A dry run of a promote that would be refused says so and exits 2, like the real run."""
    cli("set", "staging", "AI_LOG_LEVEL", "warn")
    r = cli("promote", "staging", "production", "--dry-run")
    assert r.exit_code == 2 and "not known good" in r.stderr and "envman verify staging" in r.stderr
    assert "Traceback" not in r.output


@pytest.mark.parametrize("damage", ["edit source", "edit destination", "older destination", "cut ledger"])
def test_integrity_of_both_environments_blocks_the_write(live, damage: str) -> None:  # type: ignore[no-untyped-def]
    """A hand-edited SRC or DST, an older DST file put back, or a cut ledger: the plan holds an E010 error and nothing is written."""
    p = live.open()
    set_var(p, "staging", "AI_LOG_LEVEL", "warn")
    set_var(p, "production", "AI_REQUEST_TIMEOUT_MS", "30000")
    envs = live.root / "environments"
    if damage == "edit source":
        path = envs / "staging.toml"
        path.write_text(path.read_text().replace('"warn"', '"error"'))
    elif damage == "edit destination":
        path = envs / "production.toml"
        path.write_text(path.read_text().replace('"30000"', '"31000"'))
    elif damage == "older destination":
        number = p.store.current("production").version - 1
        (envs / "production.toml").write_bytes((envs / "versions" / "production" / f"{number:06d}.toml").read_bytes())
    else:
        ledger = envs / "ledger.jsonl"
        lines = ledger.read_bytes().splitlines(keepends=True)
        ledger.write_bytes(b"".join(lines[:-1]))
    before = live.snapshot()
    plan = plan_promote(p, "staging", "production", force=True)
    assert [f.rule for f in plan.errors] and {f.rule for f in plan.errors} == {"E010"}, plan.errors
    with pytest.raises(UsageError, match="E010"):
        apply_promote(p, plan)
    assert live.snapshot() == before


def test_integrity_check_does_not_walk_the_history(project_api, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """promote's integrity check reads the head and the two environments, not the whole chain (`check` does that)."""
    p = project_api

    def walk() -> None:
        raise AssertionError("promote walked the whole ledger")

    monkeypatch.setattr(p.store, "verify_integrity", walk)
    set_var(p, "staging", "AI_LOG_LEVEL", "warn")
    plan = plan_promote(p, "staging", "production", force=True)
    assert not plan.errors
    apply_promote(p, plan)
    assert p.store.current("production").values["AI_LOG_LEVEL"] == "warn"
