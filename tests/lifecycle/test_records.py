"""mark-good, rotate, owner, status columns and handoff: the records a team relies on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from envman.credentials import due_date, parse_time
from envman.errors import InvalidValue, NotFound, UsageError
from envman.lifecycle import handoff, mark_good, owner_show, rotate, set_owner, undo_rotation
from envman.ops import set_var

NEW_KEY = "sk-prod-ffffffffffffffff6666"


def _ledger(root) -> str:  # type: ignore[no-untyped-def]
    return (root / "environments" / "ledger.jsonl").read_text()


# -- mark-good -----------------------------------------------------------------------

def test_mark_good_records_actor_note_and_content_hash(project_api) -> None:  # type: ignore[no-untyped-def]
    """mark-good appends a `mark-good` entry with the actor, the note and the version's content hash, and indexes it."""
    p = project_api
    result = mark_good(p, "staging", note="smoke tests passed")
    e = result.entry
    current = p.store.current("staging")
    assert (e.event, e.env, e.version, e.actor) == ("mark-good", "staging", current.version, "tester")
    assert e.profile == current.content_hash() and e.detail["note"] == "smoke tests passed"
    assert [current.version, e.seq] in p.store.head().good["staging"]
    assert not result.again and mark_good(p, "staging").again


def test_mark_good_an_older_version(project_api) -> None:  # type: ignore[no-untyped-def]
    """--version N attests that version, recording its own content hash."""
    p = project_api
    e = mark_good(p, "production", 1).entry
    assert e.version == 1 and e.profile == p.store.version("production", 1).content_hash()


@pytest.mark.parametrize(("version", "error"), [("99999", NotFound), ("-1", UsageError), ("abc", UsageError), ("0", UsageError)])
def test_mark_good_bad_versions(project_api, live, version: str, error: type[Exception]) -> None:  # type: ignore[no-untyped-def]
    """Unknown or malformed versions are refused and nothing is written."""
    before = live.snapshot()
    with pytest.raises(error):
        mark_good(project_api, "production", version)
    assert live.snapshot() == before


def test_mark_good_with_no_versions(project) -> None:  # type: ignore[no-untyped-def]
    """An environment with nothing set cannot be marked good."""
    with pytest.raises(NotFound, match="no versions yet"):
        mark_good(project.open(), "staging")


# -- rotate --------------------------------------------------------------------------

def test_rotate_keeps_previous_ciphertext_as_rollback(project_api, live, prod_key: str) -> None:  # type: ignore[no-untyped-def]
    """The replaced ciphertext becomes the rollback value byte for byte; time, method and next due date are recorded."""
    p = project_api
    before = p.store.current("production").secrets["ALLTKN_API_KEY"]
    change = rotate(p, "production", "ALLTKN_API_KEY", NEW_KEY, method="provider console")
    meta = change.profile.meta["ALLTKN_API_KEY"]
    assert meta.rollback == before
    assert meta.rotation_method == "provider console"
    # the rotation time is taken just before the write; the ledger stamps its entry when it commits
    assert abs((parse_time(change.entry.time) - parse_time(meta.rotated_at)).total_seconds()) < 5
    assert p.reveal("production", "ALLTKN_API_KEY", change.profile.secrets["ALLTKN_API_KEY"]).reveal() == NEW_KEY
    e = change.entry
    assert e.event == "rotate" and e.keys == {"ALLTKN_API_KEY": "sk-…6666"}
    assert e.detail["next_due"] == due_date(meta.rotated_at, 90) and e.detail["replaced"] == "sk-…5555"
    assert NEW_KEY not in _ledger(live.root) and prod_key not in _ledger(live.root)


def test_rotate_undo_swaps_value_and_rollback(project_api, prod_key: str) -> None:  # type: ignore[no-untyped-def]
    """--undo restores the rollback value as a new version; the value it replaces becomes the rollback value."""
    p = project_api
    old = p.store.current("production").secrets["ALLTKN_API_KEY"]
    new = rotate(p, "production", "ALLTKN_API_KEY", NEW_KEY).profile.secrets["ALLTKN_API_KEY"]
    undone = undo_rotation(p, "production", "ALLTKN_API_KEY")
    assert undone.profile.secrets["ALLTKN_API_KEY"] == old
    assert undone.profile.meta["ALLTKN_API_KEY"].rollback == new
    assert p.reveal("production", "ALLTKN_API_KEY", old).reveal() == prod_key
    assert undone.entry.detail["undo"] is True


def test_rotate_refusals(project_api, prod_key: str) -> None:  # type: ignore[no-untyped-def]
    """Rotation refuses plain variables, unset secrets, the current value and the rollback value (use --undo)."""
    p = project_api
    with pytest.raises(UsageError, match="not a secret"):
        rotate(p, "production", "AI_LOG_LEVEL", "x")
    with pytest.raises(UsageError, match="equals the current"):
        rotate(p, "production", "ALLTKN_API_KEY", prod_key)
    with pytest.raises(UsageError, match="--undo"):
        rotate(p, "production", "ALLTKN_API_KEY", "sk-prod-cccccccccccccccc3333")
    set_var(p, "test", "OTHER_TOKEN", "tok-0123456789abcdef", new_type="secret")
    with pytest.raises(NotFound, match="not set in production"):
        rotate(p, "production", "OTHER_TOKEN", "tok-abcdefabcdef0000")
    with pytest.raises(NotFound, match="no rollback value"):
        undo_rotation(p, "test", "OTHER_TOKEN")


def test_cli_rotate_never_takes_the_value_on_argv(live, cli, prod_key: str) -> None:  # type: ignore[no-untyped-def]
    """A value on the command line is refused without being echoed; stdin works and output stays masked."""
    before = live.snapshot()
    r = cli("rotate", "production", "ALLTKN_API_KEY", NEW_KEY)
    assert r.exit_code == 2 and NEW_KEY not in r.output and "command line" in r.stderr
    assert live.snapshot() == before
    ok = cli("rotate", "production", "ALLTKN_API_KEY", "--method", "console", input=NEW_KEY + "\n")
    assert ok.exit_code == 0, ok.output
    assert NEW_KEY not in ok.output
    assert cli("get", "production", "ALLTKN_API_KEY", "--reveal").stdout.strip() == NEW_KEY
    undo = cli("rotate", "production", "ALLTKN_API_KEY", "--undo", "--json")
    assert undo.exit_code == 0 and json.loads(undo.stdout)["event"] == "rotate"
    assert cli("get", "production", "ALLTKN_API_KEY", "--reveal").stdout.strip() == prod_key


# -- owner ---------------------------------------------------------------------------

def test_owner_set_is_a_version_and_a_ledger_entry(project_api) -> None:  # type: ignore[no-untyped-def]
    """Recording an owner writes a new version with event `owner`; show reads it back with the due date."""
    p = project_api
    change = set_owner(p, "staging", "ALLTKN_API_KEY", owner="carol", rotation_method="console", rotation_days=30, note="team ai")
    assert change.entry.event == "owner" and change.entry.changed == ("ALLTKN_API_KEY",)
    assert change.entry.detail["owner"] == "carol" and change.entry.detail["rotation_days"] == 30
    c = owner_show(p, "staging", "ALLTKN_API_KEY")
    assert (c.owner, c.rotation_method, c.rotation_days, c.note) == ("carol", "console", 30, "team ai")
    assert c.next_due == due_date(c.rotated_at, 30) and c.from_schema == ()


def test_owner_falls_back_to_the_schema(live) -> None:  # type: ignore[no-untyped-def]
    """Without a per-environment record, the schema's owner is shown and marked as coming from the schema."""
    from envman.manifest import edit_manifest

    edit_manifest(live.root, lambda doc: doc["variables"]["ALLTKN_API_KEY"].update({"owner": "platform-team"}))
    c = owner_show(live.open(), "staging", "ALLTKN_API_KEY")
    assert c.owner == "platform-team" and c.from_schema == ("owner",)


def test_owner_refusals(project_api) -> None:  # type: ignore[no-untyped-def]
    """Nothing to record, the same records again, an unknown variable and a multi-line value are refused."""
    p = project_api
    with pytest.raises(UsageError, match="nothing to record"):
        set_owner(p, "production", "ALLTKN_API_KEY")
    with pytest.raises(UsageError, match="already has"):
        set_owner(p, "production", "ALLTKN_API_KEY", owner="alice")
    with pytest.raises(NotFound):
        set_owner(p, "production", "NOPE_NOT_HERE", owner="x")
    with pytest.raises(InvalidValue, match="one line"):
        set_owner(p, "production", "ALLTKN_API_KEY", owner="a\nb")


def test_overdue_rotation(project_api) -> None:  # type: ignore[no-untyped-def]
    """A rotation older than its period shows as overdue with its due date."""
    p = project_api
    later = datetime.now(UTC) + timedelta(days=91)
    from envman.credentials import credential

    c = credential(p, p.store.current("production"), "ALLTKN_API_KEY", now=later)
    assert c.overdue and c.age_days is not None and c.age_days >= 90


def test_status_shows_owner_and_rotation_age(live, cli) -> None:  # type: ignore[no-untyped-def]
    """`envman status` adds OWNER and ROTATED columns and keeps the last-known-good row."""
    cli("mark-good", "production")
    r = cli("status")
    assert r.exit_code == 0, r.output
    header = r.stdout.splitlines()[1]
    assert "OWNER" in header and "ROTATED" in header
    key_row = next(line for line in r.stdout.splitlines() if line.startswith("ALLTKN_API_KEY"))
    assert "production: alice" in key_row and "0d ago" in key_row
    assert "(last known good)" in r.stdout
    data = json.loads(cli("status", "--json").stdout)
    prod = next(e for e in data["environments"] if e["name"] == "production")
    assert prod["owners"]["ALLTKN_API_KEY"]["owner"] == "alice"


# -- handoff -------------------------------------------------------------------------

def _record_verify(p, env: str, ok: bool) -> None:  # type: ignore[no-untyped-def]
    profile = p.store.current(env)
    steps = [{"step": "models", "status": 200, "latency": "<250ms", "model": "deepseek-chat"}]
    with p.store.transaction() as txn:
        txn.record("verify", env, profile.version, profile=profile.content_hash(),
                   detail={"ok": ok, "steps": steps, "summary": "passed: models" if ok else "failed at models: auth"})


def test_handoff_names_owner_versions_verify_and_review_point(project_api, prod_key: str) -> None:  # type: ignore[no-untyped-def]
    """The record holds owners, current and last-good versions with the verify result, the next review date and events."""
    p = project_api
    _record_verify(p, "production", ok=True)
    good = p.store.current("production").version
    set_var(p, "production", "AI_LOG_LEVEL", "warn")
    h = handoff(p, "production")
    assert h.current_version == good + 1 and h.last_good == good
    assert h.good_verify is not None and h.good_verify.ok
    assert h.differs_from_good == ("AI_LOG_LEVEL",)
    assert h.next_review is not None and h.next_review.name == "ALLTKN_API_KEY"
    md = h.to_markdown()
    assert "| ALLTKN_API_KEY | sk-…5555 | alice | provider console, every 90 d |" in md
    assert f"Last known good: version {good}" in md and "passed" in md and "models 200 <250ms" in md
    assert "Next review point: " + h.next_review.next_due in md
    assert "## Recent events" in md and "| set |" in md
    assert prod_key not in md and "envman:v1:" not in md
    data = json.dumps(h.as_dict(), ensure_ascii=False)
    assert prod_key not in data and "envman:v1:" not in data


def test_handoff_without_good_version(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """With nothing known good the record says so and names how to attest a version."""
    r = cli("handoff", "staging")
    assert r.exit_code == 0, r.output
    assert "Last known good: none" in r.stdout and "envman mark-good staging" in r.stdout
    assert "sk-stag-bbbb" not in r.stdout


def test_handoff_stops_reading_the_ledger_early(project_api, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The ledger is read backwards only down to the last good version's creation (given enough recent events)."""
    p = project_api
    for level in ("warn", "error", "info", "debug"):
        set_var(p, "test", "AI_LOG_LEVEL", level)
    mark_good(p, "test")
    read = []
    real = type(p.store).entries_newest_first

    def counting(self):  # type: ignore[no-untyped-def]
        for entry in real(self):
            read.append(entry.seq)
            yield entry

    monkeypatch.setattr(type(p.store), "entries_newest_first", counting)
    h = handoff(p, "test", recent=2)
    assert len(h.recent) == 2 and h.good_mark is not None
    assert min(read) > 1  # never walked back to the first entry


def test_handoff_shows_a_failed_verify_of_the_current_version(project_api) -> None:  # type: ignore[no-untyped-def]
    """A failed verify of the current version is part of the record, with its cause."""
    p = project_api
    mark_good(p, "production")
    set_var(p, "production", "AI_LOG_LEVEL", "warn")
    _record_verify(p, "production", ok=False)
    md = handoff(p, "production").to_markdown()
    assert "Current version's verify: failed" in md and "failed at models: auth" in md
