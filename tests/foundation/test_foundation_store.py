"""store/files.py: versions, ledger and head on disk; integrity checks, recovery and repair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envman.errors import NotFound, TamperError, UsageError
from envman.ops import Project, get, set_var, show
from envman.store import Head
from envman.store.files import FileStore


def _set(project_dir, env: str, var: str, value: str) -> None:  # type: ignore[no-untyped-def]
    set_var(Project.open(project_dir.root), env, var, value)


def test_a_write_produces_version_file_ledger_entry_profile_and_head(seeded) -> None:  # type: ignore[no-untyped-def]
    """Each change adds an immutable version file and a ledger line; profile and head follow."""
    store = seeded.open().store
    assert isinstance(store, FileStore)
    before = store.version_path("staging", 1).read_bytes()
    _set(seeded, "staging", "AI_LOG_LEVEL", "debug")
    assert store.version_path("staging", 1).read_bytes() == before
    assert store.version_path("staging", 2).read_bytes() == store.profile_path("staging").read_bytes()
    head = store.head()
    assert head.seq == 4 and head.versions == {"test": 1, "staging": 2, "production": 1}
    assert head.size == store.ledger_path.stat().st_size
    last = next(store.entries_newest_first())
    assert (last.seq, last.event, last.env, last.version, last.changed) == (4, "set", "staging", 2, ("AI_LOG_LEVEL",))
    assert last.profile == store.current("staging").content_hash() and last.hash == head.hash
    assert store.current("staging").ledger_seq == 4 and store.current("staging").ledger_hash == last.hash


def test_old_versions_read_back_exactly(seeded) -> None:  # type: ignore[no-untyped-def]
    """Any past version is restorable exactly; unknown and invalid version numbers are refused."""
    _set(seeded, "staging", "AI_LOG_LEVEL", "debug")
    store = seeded.open().store
    assert store.version("staging", 1).values["AI_LOG_LEVEL"] == "info"
    assert store.version("staging", 2).values["AI_LOG_LEVEL"] == "debug"
    assert store.version("staging", 0).version == 0
    with pytest.raises(NotFound, match="versions 1 to 2"):
        store.version("staging", 3)
    with pytest.raises(UsageError):
        store.version("staging", -1)


def test_entries_newest_first_is_the_reverse_of_entries(seeded) -> None:  # type: ignore[no-untyped-def]
    """Reading the ledger backwards gives the same entries as reading it forwards, reversed."""
    for level in ("info", "warn", "debug"):
        _set(seeded, "test", "AI_LOG_LEVEL", level)
    store = seeded.open().store
    assert list(store.entries_newest_first()) == list(store.entries())[::-1]


def test_head_is_rebuilt_when_its_file_is_missing(seeded) -> None:  # type: ignore[no-untyped-def]
    """ledger.head is derived data: without it readers scan the ledger; writers refuse (a deleted head could
    hide a cut ledger tail) until `repair` rebuilds it, after which writing works again."""
    store = seeded.open().store
    head = store.head()
    store.head_path.unlink()
    assert store.head() == head
    with pytest.raises(TamperError, match=r"ledger\.head is missing"):
        _set(seeded, "test", "AI_LOG_LEVEL", "info")
    assert any("rebuilt" in line for line in store.repair())
    _set(seeded, "test", "AI_LOG_LEVEL", "info")
    assert store.head_path.exists() and store.head().seq == head.seq + 1


def test_reading_the_newest_state_does_not_read_history(seeded, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """get/show read the profile (and the head), never version files or the ledger: cost does not grow with history."""
    for n in range(5):
        _set(seeded, "test", "AI_REQUEST_TIMEOUT_MS", str(1000 + n))
    opened: list[str] = []
    real = Path.read_bytes
    real_open = Path.open

    def spy_read(self: Path) -> bytes:
        opened.append(self.name if "versions" not in self.parts else "versions/" + self.name)
        return real(self)

    def spy_open(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", spy_read)
    monkeypatch.setattr(Path, "open", spy_open)
    project = seeded.open()
    opened.clear()
    assert get(project, "test", "AI_REQUEST_TIMEOUT_MS").value == "1004"
    show(project, "test")
    assert not [name for name in opened if name.startswith("versions/") or name == "ledger.jsonl"], opened


# -- integrity ------------------------------------------------------------------------

def test_clean_project_verifies(seeded) -> None:  # type: ignore[no-untyped-def]
    """A project written only by envman has an intact chain and no findings."""
    count, problem, findings = seeded.open().store.verify_integrity()
    assert (count, problem, findings) == (3, None, [])


def test_hand_edited_profile_is_found_and_not_built_upon(seeded) -> None:  # type: ignore[no-untyped-def]
    """A plain value edited by hand is a finding; the next write refuses to record the edit as its own."""
    path = seeded.root / "environments" / "production.toml"
    path.write_text(path.read_text().replace("https://api.alltkn.com/api/v1", "https://evil.example/v1"))
    _, _, findings = seeded.open().store.verify_integrity()
    assert [(f.env, f.kind) for f in findings] == [("production", "tamper")]
    assert "edited outside envman" in findings[0].message
    with pytest.raises(TamperError, match="edited outside envman"):
        _set(seeded, "production", "AI_LOG_LEVEL", "debug")
    assert seeded.open().store.head().versions["production"] == 1


def test_replaced_version_file_and_removed_tail_are_found(seeded) -> None:  # type: ignore[no-untyped-def]
    """A version file swapped for another, or ledger entries cut from the end, are reported."""
    _set(seeded, "staging", "AI_LOG_LEVEL", "debug")
    store = seeded.open().store
    v1, v2 = store.version_path("staging", 1), store.version_path("staging", 2)
    v1_bytes = v1.read_bytes()
    v1.write_bytes(v2.read_bytes())
    _, _, findings = store.verify_integrity()
    assert any("version 1" in f.message for f in findings)
    v1.write_bytes(v1_bytes)
    lines = store.ledger_path.read_bytes().splitlines(keepends=True)
    store.ledger_path.write_bytes(b"".join(lines[:-1]))
    _, problem, findings = store.verify_integrity()
    assert problem is None and any("were removed" in f.message for f in findings)


def test_edited_ledger_entry_breaks_the_chain(seeded) -> None:  # type: ignore[no-untyped-def]
    """Editing an old ledger entry is reported as a broken chain naming the entry."""
    store = seeded.open().store
    lines = store.ledger_path.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'"actor":"tester"', b'"actor":"mallory"')
    store.ledger_path.write_bytes(b"".join(lines))
    _, problem, _ = store.verify_integrity()
    assert problem is not None and "#1" in problem.message


def test_older_profile_put_back_is_refused_by_writers(seeded) -> None:  # type: ignore[no-untyped-def]
    """An older version copied over the current profile is not silently built upon."""
    _set(seeded, "staging", "AI_LOG_LEVEL", "debug")
    store = seeded.open().store
    store.profile_path("staging").write_bytes(store.version_path("staging", 1).read_bytes())
    with pytest.raises(TamperError, match="version 1 but the ledger's newest is 2"):
        _set(seeded, "staging", "AI_LOG_LEVEL", "warn")


def test_profile_of_another_project_or_environment_is_refused(seeded) -> None:  # type: ignore[no-untyped-def]
    """A profile copied from another environment (or project) is named as such."""
    env_dir = seeded.root / "environments"
    (env_dir / "staging.toml").write_bytes((env_dir / "test.toml").read_bytes())
    with pytest.raises(TamperError, match="holds environment 'test'"):
        seeded.open().store.current("staging")
    (env_dir / "staging.toml").write_text((env_dir / "test.toml").read_text().replace('"demo-app"', '"other"'))
    with pytest.raises(TamperError, match="belongs to project 'other'"):
        seeded.open().store.current("staging")


def test_missing_profile_with_history_is_tampering(seeded) -> None:  # type: ignore[no-untyped-def]
    """A deleted profile is not mistaken for an empty environment."""
    (seeded.root / "environments" / "staging.toml").unlink()
    with pytest.raises(TamperError, match="missing"):
        seeded.open().store.current("staging")


def test_malformed_head_file_is_named(seeded) -> None:  # type: ignore[no-untyped-def]
    """A corrupted ledger.head is a clear TamperError pointing at repair."""
    store = seeded.open().store
    store.head_path.write_text("{not json")
    with pytest.raises(TamperError, match=r"ledger\.head is malformed"):
        store.head()
    assert any("rebuilt environments/ledger.head" in a for a in seeded.open().store.repair())
    assert store.head() == Head(**json.loads(store.head_path.read_text()))
    assert store.head().seq == 3


def test_line_endings_changed_by_a_checkout_are_not_an_edit(seeded) -> None:  # type: ignore[no-untyped-def]
    """A profile whose line endings git converted (autocrlf) holds the same data: verify and writers accept it."""
    path = seeded.root / "environments" / "production.toml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert seeded.open().store.verify_integrity()[2] == []
    _set(seeded, "production", "AI_LOG_LEVEL", "debug")
    assert seeded.open().store.current("production").values["AI_LOG_LEVEL"] == "debug"
