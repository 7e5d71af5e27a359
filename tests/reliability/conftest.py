"""Fixtures for the reliability suite: projects on a RAM file system.

Concurrency and crash tests write thousands of versions. Each write fsyncs four
files; on a disk that costs tens of milliseconds, on tmpfs nothing. What these
tests prove (locking, ordering of writes, recovery after SIGKILL) does not
depend on fsync — a killed process loses nothing the kernel already has — so
they run on /dev/shm when it is a writable tmpfs, else in tmp_path.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_helpers import make_project

from tests.helpers import ProjectDir

SHM = Path("/dev/shm")


def _is_tmpfs(path: Path) -> bool:
    try:
        with open("/proc/mounts", encoding="utf-8") as fh:
            mounts = [line.split() for line in fh]
    except OSError:
        return False
    return any(parts[1] == str(path) and parts[2] == "tmpfs" for parts in mounts if len(parts) > 2)


@pytest.fixture(scope="session")
def fast_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder on tmpfs (/dev/shm) for write-heavy tests, removed at the end; tmp_path_factory's if there is none."""
    if _is_tmpfs(SHM) and os.access(SHM, os.W_OK):
        root = SHM / f"envman-reliability-{uuid.uuid4().hex[:12]}"
        root.mkdir()
        try:
            yield root
        finally:
            from tests.canary_plugin import sweep_now

            sweep_now(root)
            shutil.rmtree(root, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("fast")


@pytest.fixture
def fast_project(fast_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProjectDir]:
    """The seeded example project (test, staging, production), on tmpfs when available; cwd is its root."""
    base = fast_root / uuid.uuid4().hex[:12]
    project = make_project(base, monkeypatch)
    yield project
    from tests.canary_plugin import sweep_now

    sweep_now(base)
    shutil.rmtree(base, ignore_errors=True)
