"""Every lifecycle command's error paths: one line, exit 2, nothing written, never a traceback."""

from __future__ import annotations

import pytest

COMMANDS = ("diff", "promote", "rollback", "mark-good", "rotate", "owner", "handoff")

# (argv, words the one-line message must contain)
BAD = [
    (["diff", "nowhere", "production"], "unknown environment"),
    (["diff", "staging", "Prod"], "invalid environment name"),
    (["diff", "production@-1", "staging"], "invalid version '-1'"),
    (["diff", "production@99999", "staging"], "no version 99999"),
    (["diff", "production@abc", "staging"], "invalid version 'abc'"),
    (["diff", "production@", "staging"], "empty version"),
    (["diff", "production@0", "staging"], "invalid version 0"),
    (["diff", "staging@good", "production"], "no known-good version"),
    (["promote", "nowhere", "production"], "unknown environment"),
    (["promote", "staging", "nowhere"], "unknown environment"),
    (["promote", "production", "staging", "--yes"], "comes after"),
    (["promote", "staging", "staging", "--yes"], "into itself"),
    (["rollback", "nowhere"], "unknown environment"),
    (["rollback", "production", "--to", "-1"], "invalid version '-1'"),
    (["rollback", "production", "--to", "99999"], "no version 99999"),
    (["rollback", "production", "--to", "abc"], "invalid version 'abc'"),
    (["rollback", "production"], "no known-good version"),
    (["mark-good", "nowhere"], "unknown environment"),
    (["mark-good", "production", "--version", "-1"], "invalid version '-1'"),
    (["mark-good", "production", "--version", "99999"], "no version 99999"),
    (["mark-good", "production", "--version", "abc"], "invalid version 'abc'"),
    (["rotate", "nowhere", "ALLTKN_API_KEY", "--undo"], "unknown environment"),
    (["rotate", "production", "AI_LOG_LEVEL", "--undo"], "not a secret"),
    (["rotate", "production", "bad-name", "--undo"], "invalid variable name"),
    (["rotate", "production", "ALLTKN_API_KEY", "--undo"], "no rollback value"),
    (["rotate", "production", "ALLTKN_API_KEY", "--undo", "--method", "x"], "--undo takes no"),
    (["owner", "nowhere", "ALLTKN_API_KEY"], "unknown environment"),
    (["owner", "production", "bad-name"], "invalid variable name"),
    (["owner", "production", "NOT_A_VAR"], "neither set"),
    (["owner", "production", "ALLTKN_API_KEY", "--rotation-days", "-3"], "rotation-days"),
    (["handoff", "nowhere"], "unknown environment"),
    (["handoff", "production", "--events", "-1"], "--events"),
]


@pytest.mark.parametrize(("argv", "words"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(seeded, cli, argv: list[str], words: str) -> None:  # type: ignore[no-untyped-def]
    """Each bad input exits 2 with a one-line message naming the problem; no file changes; no traceback."""
    before = seeded.snapshot()
    r = cli(*argv)
    assert r.exit_code == 2, r.output
    assert words in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert seeded.snapshot() == before


@pytest.mark.parametrize("command", COMMANDS)
def test_outside_a_project(tmp_path, monkeypatch: pytest.MonkeyPatch, cli, command: str) -> None:  # type: ignore[no-untyped-def]
    """Run outside any project, every command says to run `envman init` (exit 2)."""
    monkeypatch.chdir(tmp_path)
    args = {"diff": ["a", "b"], "promote": ["a", "b"], "rotate": ["a", "B"], "owner": ["a", "B"]}.get(command, ["a"])
    r = cli(command, *args, input="x\n")
    assert r.exit_code == 2 and "envman init" in r.stderr and "Traceback" not in r.output


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example(cli, command: str) -> None:  # type: ignore[no-untyped-def]
    """Every command's --help carries an Example block."""
    r = cli(command, "--help")
    assert r.exit_code == 0 and "Example:" in r.stdout


def test_commands_that_print_data_take_json(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """diff, promote, rollback, mark-good, owner and handoff accept --json and print JSON."""
    import json

    assert json.loads(cli("diff", "test", "staging", "--json").stdout)["equal"] is False
    assert "plan" in json.loads(cli("promote", "test", "staging", "--dry-run", "--force", "--json").stdout)
    assert json.loads(cli("owner", "production", "ALLTKN_API_KEY", "--json").stdout)["name"] == "ALLTKN_API_KEY"
    assert json.loads(cli("mark-good", "production", "--json").stdout)["version"] == 1
    assert json.loads(cli("handoff", "production", "--json").stdout)["last_known_good"]["version"] == 1


def test_diff_and_handoff_work_without_any_private_key(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """With no key available at all, diff, owner, status, handoff and a dry-run promote still work."""
    no_keys = {"ENVMAN_KEYS_FILE": ""}
    assert cli("diff", "staging", "production", env=no_keys).exit_code == 1
    assert cli("handoff", "production", env=no_keys).exit_code == 0
    assert cli("owner", "production", "ALLTKN_API_KEY", env=no_keys).exit_code == 0
    assert cli("status", env=no_keys).exit_code == 0
    assert cli("promote", "test", "staging", "--dry-run", "--force", env=no_keys).exit_code == 0
