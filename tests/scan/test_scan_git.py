"""Scanning git history, commit ranges and the index."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Generator
from pathlib import Path
from typing import Any, ClassVar, cast

import pytest

from envman.errors import NotFound, UsageError
from envman.scan import Hit, ScanStats, scan_git
from tests.scan.scanhelp import CUR, FP, PAST, TOKEN, GitRepo, keyless, secret

SECRETS = [secret(CUR, version=3), secret(PAST, version=2, current=False), secret(TOKEN, var="TOKEN")]


def test_secret_added_then_removed_names_the_commit_path_and_line(repo: GitRepo, engine: str) -> None:
    """A key committed once and deleted later is found, naming the commit that added it."""
    repo.commit("start", {"README.md": "hello\n"})
    added = repo.commit("add config", {"app/settings.env": f"A=1\nB=2\nAPI_KEY={CUR}\n"})
    repo.commit("unrelated", {"README.md": "hello again\n"})
    repo.commit("remove key", {"app/settings.env": "A=1\nB=2\n"})
    (hit,) = scan_git(repo.path, SECRETS, FP)
    assert (hit.commit, hit.path, hit.line, hit.column) == (added, "app/settings.env", 3, 9)
    assert (hit.var, hit.version, hit.current, hit.encoding, hit.source) == ("API_KEY", 3, True, "plain", "commit")


def test_keyless_git_scan_finds_the_same_commit(repo: GitRepo) -> None:
    """Without plaintext the history scan finds the same plain hit through the fingerprint."""
    added = repo.commit("add", {"k.txt": f"token: {TOKEN}\n"})
    repo.commit("rm", {"k.txt": None})
    keyed = list(scan_git(repo.path, SECRETS, FP))
    (hit,) = scan_git(repo.path, [keyless(s) for s in SECRETS], FP)
    assert keyed == [hit] and hit.commit == added


class _RecordingPopen(subprocess.Popen):  # type: ignore[type-arg]
    """Records argv of every process and the ids written to cat-file."""

    argvs: ClassVar[list[list[str]]] = []
    fed: ClassVar[list[bytes]] = []

    def __init__(self, args: Any, *a: Any, **kw: Any) -> None:
        super().__init__(args, *a, **kw)
        _RecordingPopen.argvs.append(list(args))
        if "cat-file" in args and self.stdin is not None:
            real = self.stdin
            outer = self

            class Tap:
                def write(self, data: bytes) -> int:
                    _RecordingPopen.fed.append(data)
                    return real.write(data)

                def close(self) -> None:
                    real.close()

                @property
                def closed(self) -> bool:
                    return real.closed

                def flush(self) -> None:
                    real.flush()

            outer.stdin = Tap()  # type: ignore[assignment]


def test_every_blob_is_read_once_and_no_secret_is_on_argv(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unchanged files across many commits, and equal content at two paths, are read once;
    one cat-file process serves them all; no git argv contains a secret."""
    repo.commit("c0", {"same/a.txt": "shared\n", "same/b.txt": "shared\n", "stable.txt": f"x={CUR}\n"})
    for i in range(12):
        repo.commit(f"c{i + 1}", {"changing.txt": f"rev {i}\n" + (f"K={PAST}\n" if i == 5 else "")})
    runs: list[list[str]] = []
    real_run = subprocess.run

    def recording_run(args: Any, *a: Any, **kw: Any) -> Any:
        runs.append(list(args))
        return real_run(args, *a, **kw)

    _RecordingPopen.argvs, _RecordingPopen.fed = [], []
    monkeypatch.setattr(subprocess, "Popen", _RecordingPopen)
    monkeypatch.setattr(subprocess, "run", recording_run)
    stats = ScanStats()
    hits = list(scan_git(repo.path, SECRETS, FP, stats=stats))
    monkeypatch.undo()

    assert sorted((h.path, h.line) for h in hits) == [("changing.txt", 2), ("stable.txt", 1)]
    fed = b"".join(_RecordingPopen.fed).split()
    blobs = repo.distinct_blobs()
    assert len(fed) == len(set(fed)) == stats.blobs == len(blobs)
    assert {f.decode() for f in fed} == blobs
    assert stats.commits == 13
    assert sum("cat-file" in argv for argv in _RecordingPopen.argvs) == 1
    for argv in runs + _RecordingPopen.argvs:
        for value in (CUR, PAST, TOKEN):
            assert all(value not in arg for arg in argv)


def test_since_limits_to_commits_after_rev(repo: GitRepo) -> None:
    """since=REV scans only blobs that commits in REV..HEAD add; a '..' range is used as given."""
    old = repo.commit("old", {"a.env": f"K={CUR}\n"})
    base = repo.commit("base", {"b.txt": "x\n"})
    new = repo.commit("new", {"c.env": f"T={TOKEN}\n"})
    assert [h.var for h in scan_git(repo.path, SECRETS, FP, since=base)] == ["TOKEN"]
    assert sorted(h.var for h in scan_git(repo.path, SECRETS, FP)) == ["API_KEY", "TOKEN"]
    assert [h.commit for h in scan_git(repo.path, SECRETS, FP, since=f"{old}..{base}")] == []
    assert [h.commit for h in scan_git(repo.path, SECRETS, FP, since=f"{old}~0..{new}")] == [new]
    assert [h.commit for h in scan_git(repo.path, SECRETS, FP, since="HEAD")] == []


def test_since_errors(repo: GitRepo) -> None:
    """An unknown revision is NotFound; an option-like value and staged+since are usage errors."""
    repo.commit("one", {"a.txt": "a\n"})
    with pytest.raises(NotFound, match="no-such-branch"):
        list(scan_git(repo.path, SECRETS, FP, since="no-such-branch"))
    with pytest.raises(UsageError):
        list(scan_git(repo.path, SECRETS, FP, since="--all"))
    with pytest.raises(UsageError):
        list(scan_git(repo.path, SECRETS, FP, since="HEAD", staged=True))


def test_staged_sees_only_the_index(repo: GitRepo) -> None:
    """staged=True reports a staged secret, never an unstaged work-tree change or an untracked file,
    and reads the staged content even after the work tree changed again."""
    repo.commit("init", {"tracked.txt": "clean\n", "other.txt": "clean\n"})
    repo.write("tracked.txt", f"clean\nK={CUR}\n")  # modified, not staged
    repo.write("untracked.txt", f"{CUR}\n")
    assert list(scan_git(repo.path, SECRETS, FP, staged=True)) == []

    repo.write("other.txt", f"clean\nclean\nT={TOKEN}\n")
    repo.git("add", "other.txt")
    repo.write("other.txt", "clean\n")  # work tree no longer has it; the index does
    (hit,) = scan_git(repo.path, SECRETS, FP, staged=True)
    assert (hit.path, hit.line, hit.column, hit.var, hit.commit, hit.source) == ("other.txt", 3, 3, "TOKEN", None, "index")


def test_staged_in_a_repository_without_commits(repo: GitRepo) -> None:
    """Before the first commit every staged file is new, and is scanned."""
    repo.write("a.env", f"K={PAST}\n")
    repo.git("add", "a.env")
    assert [h.var for h in scan_git(repo.path, SECRETS, FP, staged=True)] == ["API_KEY"]


def test_blob_only_in_a_merge_is_found(repo: GitRepo) -> None:
    """A secret that appears only in a merge's conflict resolution is found at the merge commit."""
    repo.commit("base", {"conf.txt": "value\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("side", {"conf.txt": "side\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main", {"conf.txt": "main\n"})
    subprocess.run(["git", "merge", "-q", "side"], cwd=repo.path, capture_output=True, check=False)
    repo.write("conf.txt", f"merged {CUR}\n")
    repo.git("add", "conf.txt")
    merge = repo.commit("merge")
    (hit,) = scan_git(repo.path, SECRETS, FP)
    assert (hit.commit, hit.path, hit.column) == (merge, "conf.txt", 8)


def test_other_branches_and_archives_in_history(repo: GitRepo) -> None:
    """Blobs on any ref are read, and a committed archive is scanned member by member."""
    repo.commit("main", {"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "feature")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("conf/keys.env", f"x\nK={PAST}\n")
    sha = repo.commit("zip", {"release.zip": buf.getvalue()})
    repo.git("checkout", "-q", "main")
    (hit,) = scan_git(repo.path, SECRETS, FP)
    assert (hit.commit, hit.path, hit.member, hit.line, hit.column) == (sha, "release.zip", "conf/keys.env", 2, 3)


def test_subfolder_of_a_repository_scans_the_whole_history(repo: GitRepo) -> None:
    """repo_dir may be any folder inside the work tree; paths stay relative to the top."""
    repo.commit("c", {"deep/er/k.txt": f"{CUR}\n"})
    (hit,) = scan_git(repo.path / "deep", SECRETS, FP)
    assert hit.path == "deep/er/k.txt"


def test_empty_repository_and_non_repository(repo: GitRepo, tmp_path: Path) -> None:
    """No commits yet means no hits; a plain folder or a missing one is NotFound."""
    assert list(scan_git(repo.path, SECRETS, FP)) == []
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(NotFound, match="not a git repository"):
        list(scan_git(plain, SECRETS, FP))
    with pytest.raises(NotFound):
        list(scan_git(tmp_path / "missing", SECRETS, FP))


def test_stopping_early_ends_the_cat_file_process(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing the generator after the first hit ends the cat-file process."""
    for i in range(4):  # blobs larger than a pipe buffer keep cat-file busy until read
        repo.commit(f"c{i}", {f"f{i}.txt": f"{CUR}\n{i}\n" + "filler\n" * 40_000})
    started: list[subprocess.Popen[bytes]] = []

    class Tracking(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            started.append(self)

    monkeypatch.setattr(subprocess, "Popen", Tracking)
    gen = cast(Generator[Hit, None, None], scan_git(repo.path, SECRETS, FP))
    next(gen)
    (cat_file,) = [p for p in started if "cat-file" in str(p.args)]
    assert cat_file.poll() is None
    gen.close()
    assert cat_file.poll() is not None
