"""`envman ledger verify` detects and names every kind of tampering (exit 1); a clean project exits 0."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture
def history(live, envman):  # type: ignore[no-untyped-def]
    """The live project with a few more events, so that tampering can hit the middle and the end."""
    from envman.lifecycle import mark_good
    from envman.ops import set_var

    p = live.open()
    for level in ("warn", "error"):
        set_var(p, "production", "AI_LOG_LEVEL", level)
    mark_good(p, "production")
    set_var(p, "staging", "AI_LOG_LEVEL", "debug")
    r = envman("ledger", "verify", cwd=live.root)
    assert r.exit_code == 0 and "chain intact" in r.stdout, r.output
    return live


def _lines(root) -> list[bytes]:  # type: ignore[no-untyped-def]
    return (root / "environments" / "ledger.jsonl").read_bytes().splitlines(keepends=True)


def _write(root, lines: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    (root / "environments" / "ledger.jsonl").write_bytes(b"".join(lines))


def _verify(envman, root):  # type: ignore[no-untyped-def]
    r = envman("ledger", "verify", cwd=root)
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    return r.stdout


def test_edited_entry_is_named(history, envman) -> None:  # type: ignore[no-untyped-def]
    """An entry edited in the middle (actor changed) is named by its number."""
    lines = _lines(history.root)
    lines[4] = lines[4].replace(b'"actor":"tester"', b'"actor":"mallory"')
    _write(history.root, lines)
    assert "entry #5 (line 5) was changed after it was written" in _verify(envman, history.root)


def test_deleted_middle_entry_is_named(history, envman) -> None:  # type: ignore[no-untyped-def]
    """An entry removed from the middle is reported as missing, by number."""
    lines = _lines(history.root)
    del lines[5]
    _write(history.root, lines)
    assert "entry #6 is missing" in _verify(envman, history.root)


def test_cut_tail_is_named(history, envman) -> None:  # type: ignore[no-untyped-def]
    """Cutting the last two entries is reported as the last 2 entries removed."""
    lines = _lines(history.root)
    _write(history.root, lines[:-2])
    out = _verify(envman, history.root)
    assert "the last 2 entries were removed" in out
    assert "left by an interrupted write" not in out  # not mistaken for a crash


def test_edited_last_entry_is_named(history, envman) -> None:  # type: ignore[no-untyped-def]
    """Editing the newest entry (no successor to notice) is caught through the head and the profile's pointer."""
    lines = _lines(history.root)
    lines[-1] = lines[-1].replace(b'"actor":"tester"', b'"actor":"mallory"')
    _write(history.root, lines)
    out = _verify(envman, history.root)
    assert f"newest ledger entry #{len(lines)} was changed" in out


def test_hand_edited_profile_is_named(history, envman) -> None:  # type: ignore[no-untyped-def]
    """A plain value edited by hand in the profile file is named with the file."""
    path = history.root / "environments" / "production.toml"
    path.write_text(path.read_text().replace('AI_LOG_LEVEL = "error"', 'AI_LOG_LEVEL = "debug"'))
    assert "environments/production.toml was edited outside envman" in _verify(envman, history.root)


def test_old_version_file_put_back_as_current_is_named(history, envman) -> None:  # type: ignore[no-untyped-def]
    """Copying an old version over the current profile is reported as an older file put back."""
    data = history.root / "environments"
    shutil.copy(data / "versions" / "production" / "000001.toml", data / "production.toml")
    out = _verify(envman, history.root)
    assert "production.toml is at version 1" in out and "older file was put back" in out


def test_version_file_replaced_by_an_older_one_is_named(history, envman) -> None:  # type: ignore[no-untyped-def]
    """Replacing a stored version with an older version's file is named with that version."""
    folder = history.root / "environments" / "versions" / "production"
    shutil.copy(folder / "000001.toml", folder / "000003.toml")
    assert "000003.toml (version 3) does not match ledger entry" in _verify(envman, history.root)


def test_json_names_the_break(history, envman) -> None:  # type: ignore[no-untyped-def]
    """--json gives the broken line and entry of a removed middle entry."""
    import json

    lines = _lines(history.root)
    del lines[2]
    _write(history.root, lines)
    r = envman("ledger", "verify", "--json", cwd=history.root)
    assert r.exit_code == 1
    chain = json.loads(r.stdout)["chain"]
    assert chain["line"] == 3 and "entry #3 is missing" in chain["message"]
    assert json.loads(r.stdout)["findings"] == []  # no bogus crash findings on top of a broken chain
