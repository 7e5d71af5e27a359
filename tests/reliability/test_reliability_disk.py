"""A full disk, a read-only folder, a file deleted under envman: one clear line, exit 2, old data intact.

Where the tests run as root with `mount` available, the disk is a real tmpfs
mounted with a small size (filled up by the test) and the read-only folder is
that tmpfs remounted read-only — `chmod 0555` would not stop root. The
simulated forms (os.write raising ENOSPC at the k-th write, os.open/os.mkdir
raising EROFS for writes) always run too, so every write of a change is hit
whatever the machine; the figures say which forms ran.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import ledger_lines, make_project, verify

from tests.helpers import ProjectDir, assert_refused

PAGE = 4096
WRITES_PER_SET = 8  # version file, ledger line, profile, head (+ a margin): every k below lands on one of them


@contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[bool]:
    """Mount a tmpfs of ``size`` at ``path``; yields False (and mounts nothing) when that is not possible here."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = False
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount"):
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                              capture_output=True, check=False)
        mounted = proc.returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextmanager
def _project_on_small_tmpfs(disk: Path, size: str, monkeypatch: pytest.MonkeyPatch, figures: Any, ran: str,
                            covered: str) -> Iterator[ProjectDir]:
    """The seeded project on a tmpfs of ``size`` mounted at ``disk``. Where none can be mounted here, the figure
    ``ran`` is recorded as False and the test is skipped (the simulated test covers ``covered``)."""
    with small_tmpfs(disk, size) as mounted:
        if not mounted:
            figures.add("disk", **{ran: False})
            pytest.skip(f"cannot mount a tmpfs here (needs root); the simulated test covers {covered}")
        yield make_project(disk, monkeypatch)


def _fill(folder: Path) -> Path:
    """Fill the file system holding ``folder`` up to the last page; returns the filler file."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (64 * PAGE, PAGE):  # big steps, then the last pages one by one
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


def _committed(root: Path) -> tuple[list[bytes], dict[str, bytes]]:
    data = root / "environments"
    versions = {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.glob("versions/*/*.toml"))}
    return ledger_lines(root), versions


def _assert_intact(root: Path, before: tuple[list[bytes], dict[str, bytes]]) -> None:
    """Every entry and version file committed before is still there, byte for byte."""
    lines, versions = _committed(root)
    assert lines[: len(before[0])] == before[0]
    for name, data in before[1].items():
        assert versions[name] == data, name


def _after_failure(result: Any, snapshot: dict[str, bytes], now: dict[str, bytes], stats: dict[str, int], word: str) -> None:
    """A refused write: one line naming the cause; either no file changed, or the line says the change was recorded
    and exactly one whole ledger entry was added (the commit point was passed)."""
    line = assert_refused(result, word)
    if now == snapshot:
        assert "nothing was changed" in line, line
        stats["refused_nothing_written"] += 1
    else:
        assert "was recorded as ledger entry" in line, line  # committed: the next writer or repair completes it
        ledger = "environments/ledger.jsonl"
        grew = now[ledger][len(snapshot[ledger]):]
        assert now[ledger].startswith(snapshot[ledger]) and grew.count(b"\n") == 1 and grew.endswith(b"\n")
        stats["refused_after_commit"] += 1


def _snapshot(project: Any) -> dict[str, bytes]:
    return {k: v for k, v in project.snapshot().items() if not k.startswith("filler")}


def _settle_disk_full_case(cli: Any, project: Any, result: Any, before: tuple[list[bytes], dict[str, bytes]],
                           snapshot: dict[str, bytes], stats: dict[str, int]) -> None:
    """Count one `set` run against a full disk: it succeeded, or was refused cleanly (see _after_failure); the
    committed data is intact either way. Then, with space back, `repair` and a clean `ledger verify`."""
    stats["cases"] += 1
    if result.exit_code == 0:
        stats["succeeded"] += 1
    else:
        _after_failure(result, snapshot, _snapshot(project), stats, "disk full")
    _assert_intact(project.root, before)
    assert cli("repair").exit_code == 0
    code, report = verify(cli)
    assert (code, report["findings"]) == (0, []), report


def test_disk_full_at_every_write_of_a_change_simulated(seeded, cli, monkeypatch: pytest.MonkeyPatch, figures) -> None:  # type: ignore[no-untyped-def]
    """os.write fails with ENOSPC from the k-th write of `set` on (k = 1…8: version file, ledger, profile, head):
    exit 2 with one "disk full" line; before the ledger append nothing at all is left behind, after it the line says
    the change was recorded; once space is back `ledger verify` is clean after `repair`, committed data intact."""
    stats = {"cases": 0, "refused_nothing_written": 0, "refused_after_commit": 0, "succeeded": 0}
    real_write = os.write
    for k in range(1, WRITES_PER_SET + 1):
        before, snapshot = _committed(seeded.root), _snapshot(seeded)
        calls = 0

        def write(fd: int, data: Any, _k: int = k) -> int:
            nonlocal calls
            calls += 1
            if calls >= _k:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        with monkeypatch.context() as mp:
            mp.setattr(os, "write", write)
            result = cli("set", "production", "AI_REQUEST_TIMEOUT_MS", str(1000 + k))
        _settle_disk_full_case(cli, seeded, result, before, snapshot, stats)
    assert stats["refused_nothing_written"] and stats["refused_after_commit"]
    figures.add("disk", simulated_enospc_cases=stats["cases"], simulated_enospc_refused_clean=stats["refused_nothing_written"],
                simulated_enospc_refused_after_commit=stats["refused_after_commit"], simulated_enospc_data_lost=0)


def test_disk_full_on_a_real_small_tmpfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli, figures) -> None:  # type: ignore[no-untyped-def]
    """A project on a 1 MiB tmpfs filled to the last page, then 0, 1, 2… pages freed: each `set` either succeeds or
    exits 2 with one "disk full" line, leaving the committed data intact and nothing uncommitted behind."""
    disk = tmp_path / "disk"
    with _project_on_small_tmpfs(disk, "1m", monkeypatch, figures, "real_tmpfs", "every write") as project:
        stats = {"cases": 0, "refused_nothing_written": 0, "refused_after_commit": 0, "succeeded": 0}
        for free_pages in range(0, 12):
            filler = _fill(disk)
            os.truncate(filler, max(0, filler.stat().st_size - free_pages * PAGE))
            before, snapshot = _committed(project.root), _snapshot(project)
            result = cli("set", "production", "AI_REQUEST_TIMEOUT_MS", str(2000 + free_pages))
            filler.unlink()  # space back (outside the project: its files and the checks below are unaffected)
            _settle_disk_full_case(cli, project, result, before, snapshot, stats)
        assert stats["succeeded"] and stats["refused_nothing_written"]
    figures.add("disk", real_tmpfs=True, real_enospc_cases=stats["cases"], real_enospc_refused=stats["cases"] - stats["succeeded"],
                real_enospc_refused_after_commit=stats["refused_after_commit"], real_enospc_data_lost=0)


READERS = [["get", "production", "AI_LOG_LEVEL"], ["show", "production", "--json"], ["status", "--json"],
           ["history", "--limit", "3"], ["diff", "staging", "production"], ["ledger", "verify"], ["check"]]
WRITERS = [["set", "production", "AI_LOG_LEVEL", "warn"], ["unset", "staging", "AI_LOG_LEVEL"],
           ["mark-good", "staging"], ["owner", "production", "ALLTKN_API_KEY", "--owner", "bob"], ["repair"]]


def _read_only_round(project: Any, cli: Any, stats: dict[str, int]) -> None:
    snapshot = project.snapshot()
    for args in READERS:
        result = cli(*args)
        assert result.exit_code in (0, 1), (args, result.output)  # diff and check exit 1 on findings
        assert "Traceback" not in result.output
        stats["readers_ok"] += 1
    for args in WRITERS:
        result = cli(*args)
        if args[0] == "repair" and result.exit_code == 0:
            assert result.stdout.startswith("nothing to repair"), result.output
        else:
            assert_refused(result, "read-only")
        stats["writers_refused"] += 1
    assert project.snapshot() == snapshot


def test_read_only_folder_simulated(seeded, cli, monkeypatch: pytest.MonkeyPatch, figures) -> None:  # type: ignore[no-untyped-def]
    """Every open for writing and every mkdir fails with EROFS: readers (get, show, status, history, diff, ledger verify,
    check) still work; writers (set, unset, mark-good, owner) exit 2 with one line naming a read-only folder; no file changes."""
    real_open = os.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def ro_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & writing:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    def ro_mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    stats = {"readers_ok": 0, "writers_refused": 0}
    with monkeypatch.context() as mp:
        mp.setattr(os, "open", ro_open)
        mp.setattr(os, "mkdir", ro_mkdir)
        _read_only_round(seeded, cli, stats)
    figures.add("disk", simulated_erofs_readers_ok=stats["readers_ok"], simulated_erofs_writers_refused=stats["writers_refused"])


def test_read_only_folder_real_remount(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli, figures) -> None:  # type: ignore[no-untyped-def]
    """The project on a tmpfs remounted read-only (what stops root, unlike chmod): the same as the simulation."""
    disk = tmp_path / "ro"
    with _project_on_small_tmpfs(disk, "4m", monkeypatch, figures, "real_read_only", "it") as project:
        proc = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True, check=False)
        assert proc.returncode == 0, proc.stderr
        stats = {"readers_ok": 0, "writers_refused": 0}
        _read_only_round(project, cli, stats)
    figures.add("disk", real_read_only=True, real_erofs_readers_ok=stats["readers_ok"], real_erofs_writers_refused=stats["writers_refused"])


# -- a file deleted under envman ------------------------------------------------------------

COMMANDS = [*READERS, ["show", "staging@1"], ["set", "production", "AI_LOG_LEVEL", "warn"], ["set", "test", "NEW_FLAG", "x", "--type", "string"]]


def test_every_file_deleted_in_turn(seeded, cli, figures) -> None:  # type: ignore[no-untyped-def]
    """Each file of the project deleted in turn (manifest, profiles, version files, ledger, head, lock): every command
    either works or exits 1/2 with one line — never a traceback; `ledger verify` names each loss of committed data,
    and `repair` either restores a clean state or refuses naming what to restore."""
    base = seeded.snapshot()
    names = sorted(base)
    stats = {"files": 0, "commands": 0, "tracebacks": 0, "named": 0}
    for name in names:
        for rel, data in base.items():  # start from the seeded state each time
            path = seeded.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for extra in set(seeded.snapshot()) - set(base):
            (seeded.root / extra).unlink()
        (seeded.root / name).unlink()
        stats["files"] += 1
        for args in COMMANDS:
            result = cli(*args)
            stats["commands"] += 1
            assert "Traceback" not in result.output and "internal error" not in result.output, (name, args, result.output)
            if result.exit_code == 2:
                assert_refused(result)
            else:
                assert result.exit_code in (0, 1), (name, args, result.output)
        if name == "envman.toml":
            assert_refused(cli("ledger", "verify"), "envman.toml")
            stats["named"] += 1
            continue
        result = cli("ledger", "verify", "--json")
        if (name.startswith("environments/") and name.endswith(".toml")) or name.endswith("ledger.jsonl"):
            assert result.exit_code == 1, (name, result.output)  # committed data is gone: always named
            assert Path(name).name in result.stdout or "ledger" in result.stdout, (name, result.stdout)
            stats["named"] += 1
        repaired = cli("repair")
        if repaired.exit_code == 2:
            assert_refused(repaired, "restore")
        else:
            assert repaired.exit_code == 0, repaired.output
            assert verify(cli)[0] == 0
    figures.add("disk", deleted_files=stats["files"], deleted_file_commands=stats["commands"], deleted_file_tracebacks=0,
                deleted_file_losses_named=stats["named"])


def test_repair_restores_each_environment_to_its_own_newest_version(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """staging.toml deleted while the ledger's last entry belongs to production: repair restores staging's own newest
    version (3), not the version number of the last entry (2) — which would silently put back an older set."""
    for level in ("warn", "error"):
        assert cli("set", "staging", "AI_LOG_LEVEL", level).exit_code == 0
    assert cli("set", "production", "AI_LOG_LEVEL", "warn").exit_code == 0  # the last entry: production@2
    (seeded.root / "environments" / "staging.toml").unlink()
    result = cli("repair", "--json")
    assert result.exit_code == 0, result.output
    assert "staging: restored environments/staging.toml to version 3" in result.stdout
    assert cli("get", "staging", "AI_LOG_LEVEL").stdout == "error\n"
    assert verify(cli)[0] == 0
