"""The default backend: TOML profiles and a JSON-lines ledger in ``environments/``.

Layout::

    environments/<env>.toml                 the current version (what `get` reads)
    environments/versions/<env>/<N>.toml    every version ever written, immutable
    environments/ledger.jsonl               the hash-chained event log
    environments/ledger.head                newest entry + derived indexes (rebuildable)
    environments/.lock                      advisory lock for writers (not committed)

A write is: version file (atomic) → ledger append (fsync; the commit point) →
current profile (atomic) → head (atomic). A writer killed at any point leaves
either no committed change or a ledger entry whose version file exists; the
next writer (or `envman repair`) rolls such an entry forward. Readers never
take the lock and never read the history.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envman import blocks
from envman.errors import ConflictError, NotFound, StoreError, TamperError
from envman.fsutil import append_durable, atomic_write, exclusive_lock, shared_lock
from envman.manifest import Manifest
from envman.profile import Profile, empty_profile, profile_from_toml
from envman.store import Finding, Head
from envman.store._common import advance, after_commit, manifest_keys_from, read_version, stale_public_keys

if TYPE_CHECKING:
    from envman.ledger import ChainProblem, Entry

# envman.ledger (and the hashing it brings) is imported by the functions that
# read or write the ledger: `get`, `show` and `status` never touch it.

_REPAIR = "run `envman repair` (it keeps every committed version)"


def now_utc() -> str:
    """Current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def current_actor() -> str:
    """Who makes a change: ENVMAN_ACTOR, else git's user.name, else the OS user."""
    actor = os.environ.get("ENVMAN_ACTOR")
    if actor:
        return actor
    import subprocess

    try:
        out = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=5, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _version_line_filter() -> Any:
    """A test for raw ledger lines that is False only for entries that certainly write no version.

    JSON escapes every quote inside a string, so when `"event":` occurs once in a
    line it is the entry's own key; a line with none or several (e.g. a key in
    detail) is kept for parsing, to be sure.
    """
    import re

    from envman.ledger import VERSION_EVENTS

    names = b"|".join(re.escape(e.encode()) for e in sorted(VERSION_EVENTS))
    version_event = re.compile(b'"event":"(?:' + names + b')"').search

    def may_write_version(line: bytes) -> bool:
        return line.count(b'"event":') != 1 or version_event(line) is not None

    return may_write_version


class FileStore:
    """Profiles and ledger as files in the project's ``environments/`` folder."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.dir = manifest.data_dir
        self.ledger_path = self.dir / "ledger.jsonl"
        self.head_path = self.dir / "ledger.head"
        self.lock_path = self.dir / ".lock"

    # -- paths -------------------------------------------------------------
    def profile_path(self, env: str) -> Path:
        return self.dir / f"{env}.toml"

    def version_path(self, env: str, number: int) -> Path:
        return self.dir / "versions" / env / f"{number:06d}.toml"

    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.manifest.root))
        except ValueError:
            return str(path)

    # -- reading -----------------------------------------------------------
    def _read_profile(self, path: Path, env: str) -> Profile | None:
        where = self._rel(path)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {where}: {exc.strerror}", "check the file's permissions") from None
        try:
            with open(fd, "rb", closefd=False) as fh:
                raw = fh.read()
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot read {where}: {exc.strerror}", "check the file's permissions") from None
        # a large profile's tables read the open file again when used instead of holding its bytes
        file = None
        if len(raw) >= blocks.FILE_RUNS_FROM and hasattr(os, "pread"):
            from envman.filerun import OpenFile

            file = OpenFile(fd, where)
        else:
            os.close(fd)
        profile = profile_from_toml(where, raw, file)
        if profile.project != self.manifest.project:
            raise TamperError(
                f"{where} belongs to project {profile.project!r}, not {self.manifest.project!r}",
                "it was copied from another project; restore it from git or " + _REPAIR,
            )
        if profile.env != env:
            raise TamperError(f"{where} holds environment {profile.env!r}, not {env!r}", "restore it from git or " + _REPAIR)
        return profile

    def current(self, env: str) -> Profile:
        """The newest version of ``env`` (version 0 when nothing was set yet)."""
        self.manifest.require_env(env)
        profile = self._read_profile(self.profile_path(env), env)
        if profile is None:
            if self.version_path(env, 1).exists():
                raise TamperError(f"{self._rel(self.profile_path(env))} is missing but {env!r} has versions", _REPAIR)
            return empty_profile(self.manifest.project, env)
        return profile

    def version(self, env: str, number: int) -> Profile:
        """Version ``number`` of ``env`` exactly as it was written."""
        return read_version(self, env, number, self._read_version)

    def _read_version(self, env: str, number: int) -> Profile | None:
        path = self.version_path(env, number)
        profile = self._read_profile(path, env)
        if profile is not None and profile.version != number:
            raise TamperError(f"{self._rel(path)} holds version {profile.version}, not {number}", _REPAIR)
        return profile

    def _read_head_file(self) -> Head | None:
        import json

        try:
            data = json.loads(self.head_path.read_bytes())
            return Head.from_json(data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise TamperError(f"{self._rel(self.head_path)} is malformed", _REPAIR) from None

    def _ledger_size(self) -> int:
        try:
            return self.ledger_path.stat().st_size
        except FileNotFoundError:
            return 0

    def head(self) -> Head:
        """The ledger head and its indexes; rebuilt from the ledger when the head file is missing."""
        head = self._read_head_file()
        if head is None:
            head = self._scan_head()
        return head

    def _scan_head(self) -> Head:
        from envman.ledger import decode

        head = Head()
        for line in self._raw_lines():
            head = advance(head, decode(line, self._rel(self.ledger_path)), len(line) + 1)
        return head

    def _raw_lines(self) -> Iterator[bytes]:
        try:
            with self.ledger_path.open("rb") as fh:
                for line in fh:
                    if line.endswith(b"\n"):
                        yield line[:-1]
                    # a last line without newline is a torn write: not committed
        except FileNotFoundError:
            return

    def entries(self) -> Iterator[Entry]:
        """Every ledger entry, oldest first."""
        from envman.ledger import decode

        where = self._rel(self.ledger_path)
        for line in self._raw_lines():
            yield decode(line, where)

    def entries_newest_first(self) -> Iterator[Entry]:
        """Ledger entries newest first, reading the file backwards (stops when the caller stops)."""
        from envman.ledger import decode, iter_lines_reversed

        where = self._rel(self.ledger_path)
        try:
            fh = self.ledger_path.open("rb")
        except FileNotFoundError:
            return
        with fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - 1))
            end = size if fh.read(1) == b"\n" else self._last_newline(fh, size)
            for line in iter_lines_reversed(fh, end):
                yield decode(line, where)

    @staticmethod
    def _last_newline(fh: Any, size: int) -> int:
        pos = size
        while pos > 0:
            step = min(4096, pos)
            pos -= step
            fh.seek(pos)
            chunk = fh.read(step)
            i = chunk.rfind(b"\n")
            if i >= 0:
                return pos + int(i) + 1
        return 0

    # -- writing -----------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[FileTransaction]:
        """Lock the project, roll forward any interrupted write, and yield a transaction."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {self._rel(self.dir)}: {exc.strerror}", "check the folder's permissions") from None
        with exclusive_lock(self.lock_path):
            yield FileTransaction(self, self._recover())

    def _write_head(self, head: Head) -> None:
        import json

        atomic_write(self.head_path, (json.dumps(head._asdict(), sort_keys=True) + "\n").encode())

    def _recover(self) -> Head:
        """Bring head and profiles up to the ledger (call with the lock held)."""
        from envman.ledger import VERSION_EVENTS, decode

        head = self._read_head_file()
        size = self._ledger_size()
        if head is None and size:
            # The head is never missing once written (it is replaced atomically): it was deleted.
            # Rebuilding it here would erase the evidence of a cut ledger tail; repair does it on request.
            raise TamperError(f"{self._rel(self.head_path)} is missing", "check what changed, then " + _REPAIR)
        if head is None:
            self._truncate_torn_tail()
            head = self._scan_head()
            self._roll_forward_profiles(head)
            self._write_head(head)
            return head
        if size == head.size:
            return head
        if size < head.size:
            raise TamperError(
                f"{self._rel(self.ledger_path)} is shorter than its recorded head (entry #{head.seq}): entries were removed",
                "restore the ledger from git; `envman ledger verify` shows what is missing",
            )
        with self.ledger_path.open("rb") as fh:
            fh.seek(head.size)
            extra = fh.read()
        if not extra.endswith(b"\n"):
            self._truncate_torn_tail()
            extra = extra[: extra.rfind(b"\n") + 1]
        rekeyed = []
        for line in extra.split(b"\n")[:-1]:
            entry = decode(line, self._rel(self.ledger_path))
            if entry.prev != head.hash or entry.seq != head.seq + 1:
                raise TamperError(f"{self._rel(self.ledger_path)}: entry #{entry.seq} does not follow the recorded head", _REPAIR)
            head = advance(head, entry, len(line) + 1)
            if entry.event in VERSION_EVENTS:
                self._roll_forward(entry)
            if entry.event == "rekey" and self._rekey_manifest(entry):
                rekeyed.append(entry.env)
        self._write_head(head)
        if rekeyed:
            # this command read envman.toml before: it would seal new values for the replaced key
            raise ConflictError(
                f"an interrupted `envman rekey` of {', '.join(rekeyed)} was completed (envman.toml has the new public key)",
                "nothing else was changed; re-run the command",
            )
        return head

    def _rekey_manifest(self, entry: Entry) -> bool:
        """Give envman.toml the public key a rekey entry recorded; False when it already has it."""
        from envman.manifest import set_public_key

        public = entry.detail.get("public_key")
        return isinstance(public, str) and set_public_key(self.manifest.root, entry.env, public)

    def _truncate_torn_tail(self) -> None:
        size = self._ledger_size()
        if not size:
            return
        with self.ledger_path.open("r+b") as fh:
            keep = self._last_newline(fh, size)
            if keep != size:
                fh.truncate(keep)
                os.fsync(fh.fileno())

    def _roll_forward(self, entry: Entry) -> None:
        source = self.version_path(entry.env, entry.version)
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            raise TamperError(f"ledger entry #{entry.seq} refers to {self._rel(source)}, which is missing", "restore it from git") from None
        target = self.profile_path(entry.env)
        try:
            same = target.read_bytes() == data
        except FileNotFoundError:
            same = False
        if not same:
            atomic_write(target, data)

    def _roll_forward_profiles(self, head: Head) -> None:
        from envman.ledger import Entry

        for env, number in head.versions.items():
            current = self._read_profile(self.profile_path(env), env) if env in self.manifest.environments else None
            if current is None or current.version < number:
                self._roll_forward(Entry(seq=0, time="", actor="", event="set", env=env, version=number))

    # -- integrity ---------------------------------------------------------
    def check_current(self, profile: Profile, expected: int) -> None:
        """Raise TamperError unless ``profile`` is version ``expected`` exactly as envman wrote it (one extra read).

        Compared with its version file as data, not bytes, so a checkout that changed only
        line endings is not mistaken for an edit.
        """
        rel = self._rel(self.profile_path(profile.env))
        if profile.version != expected:
            raise TamperError(
                f"{rel} is at version {profile.version} but the ledger's newest is {expected}",
                "an older file was put back or it was written outside envman; " + _REPAIR,
            )
        try:
            as_written = not profile.version or self.version(profile.env, profile.version) == profile
        except (NotFound, TamperError):
            as_written = False
        if not as_written:
            raise TamperError(
                f"{rel} was edited outside envman (it differs from version {profile.version} as envman wrote it)",
                "`envman ledger verify` shows it; restore the file from git, or `envman repair` puts the written version back",
            )

    def integrity_of(self, envs: Iterable[str]) -> list[Finding]:
        """What a writer checks before it writes, for ``envs``: cost independent of the history.

        The head against the ledger's size (entries cut or added), and each current profile
        against its version file. Hashes are not recomputed: `verify_integrity` (``check``,
        ``ledger verify``) walks the whole chain for that.
        """
        findings: list[Finding] = []
        envs = tuple(envs)
        with shared_lock(self.lock_path):
            head = self._read_head_file_quiet(findings)
            if head is not None:
                size = self._ledger_size()
                if size < head.size:
                    findings.append(Finding("", f"the ledger is {head.size - size} bytes shorter than its head records: entries were removed"))
                elif size > head.size:
                    findings.append(Finding("", "the ledger has entries after its recorded head (an interrupted write)", kind="crash"))
            versions = head.versions if head is not None else {}
            findings += [f for f in stale_public_keys(self.manifest, head) if f.env in envs]
            for env in envs:
                try:
                    self.check_current(self.current(env), versions.get(env, 0))
                except TamperError as exc:
                    findings.append(Finding(env, exc.message))
        return findings

    def verify_integrity(self) -> tuple[int, ChainProblem | None, list[Finding]]:
        """Check the chain, the head, every version file and every current profile.

        Under a shared lock: read while a writer is between its files, the ledger, head and
        profiles disagree, and that must not be reported as tampering. (Never call it holding
        the exclusive lock: the two would wait for each other.)
        """
        with shared_lock(self.lock_path):
            return self._verify_integrity()

    def _verify_integrity(self) -> tuple[int, ChainProblem | None, list[Finding]]:
        from envman.ledger import VERSION_EVENTS, check_chain, decode

        findings: list[Finding] = []
        # One pass: the chain check reads every line; only lines that may write a
        # version are kept for parsing (the rest are covered by the chain's hashes).
        candidates: list[bytes] = []
        may_write_version = _version_line_filter()

        def lines() -> Iterator[bytes]:
            keep = candidates.append
            for line in self._raw_lines():
                if may_write_version(line):
                    keep(line)
                yield line

        count, chain_head, problem = check_chain(lines())
        if problem is not None:
            problem = self._name_break(problem)
        size = self._ledger_size()
        complete = self._last_complete_size()
        if complete != size:
            findings.append(Finding("", "the ledger ends with a partial line (a write was interrupted)", kind="crash"))
        head_file = self._read_head_file_quiet(findings)
        findings += stale_public_keys(self.manifest, head_file)
        tail_cut = problem is None and head_file is not None and head_file.seq > count
        if problem is None and head_file is not None:
            if head_file.seq > count:
                gone = f"the last {head_file.seq - count} entries were removed"
                findings.append(Finding("", f"the ledger ends at entry #{count} but its head records #{head_file.seq}: {gone}"))
            elif head_file.seq == count and head_file.hash != chain_head:
                findings.append(Finding("", f"the newest ledger entry #{count} was changed after it was written"))
            elif head_file.seq < count:
                extra = count - head_file.seq
                findings.append(Finding("", f"the ledger has {extra} entries after its recorded head (an interrupted write)", kind="crash"))
        newest: dict[str, Entry] = {}
        version_entries: dict[tuple[str, int], Entry] = {}
        if problem is None:
            where = self._rel(self.ledger_path)
            for line in candidates:
                entry = decode(line, where)
                if entry.event in VERSION_EVENTS:
                    newest[entry.env] = entry
                    version_entries[(entry.env, entry.version)] = entry
        for (env, number), entry in sorted(version_entries.items()):
            path = self.version_path(env, number)
            try:
                stored = self._read_profile(path, env)
            except TamperError as exc:
                findings.append(Finding(env, exc.message))
                continue
            if stored is None:
                findings.append(Finding(env, f"{self._rel(path)} (version {number}) is missing"))
            elif stored.content_hash() != entry.profile:
                findings.append(Finding(env, f"{self._rel(path)} (version {number}) does not match ledger entry #{entry.seq}: edited or replaced"))
        head_seq = head_file.seq if head_file is not None else 0
        for env in self.manifest.environments:
            last = newest.get(env)
            # a version committed after the recorded head: its writer stopped before updating the profile
            interrupted = last is not None and last.seq > head_seq
            findings.extend(self._check_current(env, last, problem is None, interrupted=interrupted))
            if problem is None:  # with a broken chain the newest versions are unknown
                findings.extend(self._orphans(env, newest.get(env), tail_cut=tail_cut))
        return count, problem, findings

    def _name_break(self, problem: ChainProblem) -> ChainProblem:
        """Say which entry is at fault: a gap in the sequence numbers is a removal, else the entry before was edited."""
        from envman.ledger import ChainProblem

        n, seq = problem.line, problem.seq
        if seq is None or not problem.message.startswith("entry #"):
            return problem
        if seq > n:
            gone = f"entry #{n} is" if seq == n + 1 else f"entries #{n} to #{seq - 1} are"
            return ChainProblem(n, seq, f"{gone} missing: removed from the ledger (line {n} holds entry #{seq})")
        if seq == n and n > 1:
            edited = f"entry #{n - 1} (line {n - 1}) was changed after it was written: entry #{n} no longer matches its hash"
            return ChainProblem(n - 1, n - 1, edited)
        return problem

    def _last_complete_size(self) -> int:
        size = self._ledger_size()
        if not size:
            return 0
        with self.ledger_path.open("rb") as fh:
            return self._last_newline(fh, size)

    def _read_head_file_quiet(self, findings: list[Finding]) -> Head | None:
        try:
            head = self._read_head_file()
        except TamperError as exc:
            findings.append(Finding("", exc.message))
            return None
        if head is None and self._ledger_size():
            # envman writes the head before the first entry and only ever replaces it atomically, so no crash
            # removes it; without it, entries cut from the end of the ledger would go unnoticed
            rel = self._rel(self.head_path)
            findings.append(Finding("", f"{rel} is missing, so entries removed from the end of the ledger cannot be detected",
                                    f"restore {rel} from git (or re-run an interrupted `envman backend migrate`); "
                                    "`envman repair` rebuilds it from the ledger as it is"))
        return head

    def _check_current(self, env: str, entry: Entry | None, chain_ok: bool, *, interrupted: bool = False) -> list[Finding]:
        path = self.profile_path(env)
        rel = self._rel(path)
        try:
            profile = self._read_profile(path, env)
        except TamperError as exc:
            return [Finding(env, exc.message)]
        if profile is None:
            return [Finding(env, f"{rel} is missing but the ledger has version {entry.version}")] if entry else []
        if entry is None:
            if not chain_ok:
                return []
            return [Finding(env, f"{rel} has version {profile.version} but the ledger records no change to {env}: written outside envman")]
        behind = f"{rel} is at version {profile.version} but the ledger's newest is {entry.version}"
        if profile.version < entry.version and interrupted:
            return [Finding(env, f"{behind}: a write was interrupted", kind="crash")]
        if profile.version < entry.version:
            return [Finding(env, f"{behind}: an older file was put back or a write was interrupted")]
        if profile.version > entry.version:
            ahead = f"{rel} claims version {profile.version} but the ledger's newest is {entry.version}"
            return [Finding(env, f"{ahead}: written outside envman or ledger entries removed")]
        if profile.content_hash() != entry.profile:
            return [Finding(env, f"{rel} was edited outside envman (its content does not match ledger entry #{entry.seq})")]
        if profile.ledger_seq == entry.seq and profile.ledger_hash != entry.hash:
            return [Finding(env, f"{rel} records another hash for ledger entry #{entry.seq}: that entry was changed after it was written")]
        if (profile.ledger_seq, profile.ledger_hash) != (entry.seq, entry.hash):
            return [Finding(env, f"{rel} points at ledger entry #{profile.ledger_seq}, but version {entry.version} was written by #{entry.seq}")]
        return []

    def _orphans(self, env: str, entry: Entry | None, *, tail_cut: bool = False) -> list[Finding]:
        folder = self.dir / "versions" / env
        if not folder.is_dir():
            return []
        newest = entry.version if entry else 0
        extra = sorted(p.name for p in folder.glob("*.toml") if p.stem.isdigit() and int(p.stem) > newest)
        if not extra:
            return []
        if tail_cut:
            return [Finding(env, f"version files whose ledger entries were removed: {', '.join(extra)}")]
        return [Finding(env, f"uncommitted version files left by an interrupted write: {', '.join(extra)}", kind="crash")]

    def repair(self) -> list[str]:
        """Restore a consistent state from the ledger and version files; returns what was done."""
        from envman.ledger import VERSION_EVENTS, check_chain

        done: list[str] = []
        with exclusive_lock(self.lock_path):
            size = self._ledger_size()
            self._truncate_torn_tail()
            if self._ledger_size() != size:
                done.append("removed a partial last ledger line left by an interrupted write")
            count, _, problem = check_chain(self._raw_lines())
            if problem is not None:
                raise TamperError(f"cannot repair: {problem.message}", "restore environments/ledger.jsonl from git, then run `envman repair` again")
            head = self._scan_head()
            old = self._read_head_file_quiet([])
            if old is not None and old.seq > head.seq:
                raise TamperError(
                    f"cannot repair: the ledger ends at #{head.seq} but its head recorded #{old.seq} (entries were removed)",
                    "restore environments/ledger.jsonl from git",
                )
            done += manifest_keys_from(self.manifest, head)
            newest: dict[str, Entry] = {}
            for entry in self.entries():
                if entry.event in VERSION_EVENTS:
                    newest[entry.env] = entry
            for env in self.manifest.environments:
                last = newest.get(env)
                for line in self._orphans(env, last):
                    for name in line.message.rsplit(": ", 1)[1].split(", "):
                        (self.dir / "versions" / env / name).unlink(missing_ok=True)
                    done.append(f"{env}: removed uncommitted version files")
                if last is None:
                    continue
                stored = self._read_profile(self.version_path(env, last.version), env)
                if stored is None or stored.content_hash() != last.profile:
                    raise TamperError(
                        f"cannot repair {env}: version {last.version}'s file is missing or altered",
                        f"restore environments/versions/{env}/ from git",
                    )
                try:
                    current = self._read_profile(self.profile_path(env), env)
                except TamperError:
                    current = None
                if current is None or current.to_toml() != stored.to_toml():
                    atomic_write(self.profile_path(env), self.version_path(env, last.version).read_bytes())
                    done.append(f"{env}: restored {self._rel(self.profile_path(env))} to version {last.version}")
            if old != head:
                self._write_head(head)
                done.append(f"rebuilt {self._rel(self.head_path)} from {count} ledger entries")
            # under the lock no write is in flight: a temp file here is what a killed writer left
            stale = [p for p in (*self.dir.glob(".*.tmp"), *self.dir.glob("versions/*/.*.tmp")) if p.is_file()]
            for path in stale:
                path.unlink(missing_ok=True)
            if stale:
                done.append(f"removed {len(stale)} temp file{'s' * (len(stale) != 1)} left by interrupted writes")
        return done

    def describe(self) -> dict[str, Any]:
        return {"backend": "files", "location": self._rel(self.dir), "reachable": True}


class FileTransaction:
    """Writes under the project lock; see the module docstring for the order of writes."""

    def __init__(self, store: FileStore, head: Head) -> None:
        self.store = store
        self.head = head

    @cached_property
    def actor(self) -> str:
        return current_actor()

    def current(self, env: str) -> Profile:
        profile = self.store.current(env)
        # writing on top of a hand edit would record it in a new version as if envman had made it
        self.store.check_current(profile, self.head.versions.get(env, 0))
        return profile

    def _append(self, entry: Entry) -> Entry:
        from envman.ledger import encode

        line, digest = encode(entry)
        entry = entry._replace(hash=digest)
        start = append_durable(self.store.ledger_path, line)
        if start != self.head.size:
            raise TamperError("the ledger changed while envman held the lock", "another program writes to environments/ without the lock; " + _REPAIR)
        self.head = advance(self.head, entry, len(line))
        return entry

    def commit(
        self, draft: Profile, event: str, *, changed: list[str], keys: dict[str, str], detail: dict[str, Any]
    ) -> tuple[Profile, Entry]:
        """Write ``draft`` as the next version of its environment, with its ledger entry."""
        from envman.ledger import Entry, encode

        env = draft.env
        if event != "rekey":
            self.head.check_public_key(self.store.manifest, env)
        number = self.head.versions.get(env, 0) + 1
        profile = draft._replace(version=number, ledger_seq=self.head.seq + 1, ledger_hash="")
        entry = Entry(
            seq=self.head.seq + 1, time=now_utc(), actor=self.actor, event=event, env=env, version=number,
            changed=tuple(changed), keys=keys, profile=profile.content_hash(), detail=detail, prev=self.head.hash,
        )
        _, digest = encode(entry)
        profile = profile._replace(ledger_hash=digest)
        data = profile.to_toml()
        vpath = self.store.version_path(env, number)
        try:
            vpath.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {vpath.parent}: {exc.strerror}", "check the folder's permissions") from None
        atomic_write(vpath, data)
        try:
            entry = self._append(entry)
        except StoreError:
            # the append failed and was undone (disk full...): no version file without its entry
            vpath.unlink(missing_ok=True)
            raise
        with after_commit(entry, until="the cause is fixed"):
            atomic_write(self.store.profile_path(env), data)
            if event == "rekey":
                self.store._rekey_manifest(entry)  # before the head moves past the entry: a crash here is rolled forward
            self.store._write_head(self.head)
        return profile, entry

    def record(
        self, event: str, env: str, version: int, *, profile: str = "", detail: dict[str, Any] | None = None,
        changed: list[str] | None = None, keys: Mapping[str, str] | None = None,
    ) -> Entry:
        """Append an event that does not change any values (verify, mark-good, export...)."""
        from envman.ledger import Entry

        entry = Entry(
            seq=self.head.seq + 1, time=now_utc(), actor=self.actor, event=event, env=env, version=version,
            changed=tuple(changed or ()), keys=keys or {}, profile=profile, detail=detail or {}, prev=self.head.hash,
        )
        entry = self._append(entry)
        with after_commit(entry, until="the cause is fixed"):
            self.store._write_head(self.head)
        return entry
