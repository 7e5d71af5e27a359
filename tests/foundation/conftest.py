"""Fixtures for the foundation tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import ProjectDir, seed_example


@pytest.fixture(scope="session")
def _pycache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pycache")


@pytest.fixture(autouse=True)
def _cached_bytecode(monkeypatch: pytest.MonkeyPatch, _pycache: Path) -> None:
    """Subprocess runs of envman share compiled bytecode in a temp folder (never in the source tree).

    Only start-up time changes: without it every `envman` subprocess compiles envman anew.
    """
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(_pycache))


@pytest.fixture(scope="session")
def _seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The global ``seeded`` project, built once per session (same ids, actor and content)."""
    from envman.ops import init_project

    base = tmp_path_factory.mktemp("seeded-template")
    root, keys = base / "app", base / "keys.env"
    root.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("ENVMAN_", "ALLTKN_", "AI_")):
                mp.delenv(name)
        mp.setenv("ENVMAN_ACTOR", "tester")
        init_project(root, project_id="demo-app", keys_file=keys)
        seed_example(root)
    return root, keys


@pytest.fixture
def seeded(_seeded_template: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProjectDir:
    """A copy of the seeded project (the LLM example imported into test, staging, production); cwd is its root.

    Same layout and content as the global ``seeded`` fixture, copied instead of rebuilt: the foundation
    tests use it hundreds of times and building one costs several fsyncs and scrypt runs.
    """
    src_root, src_keys = _seeded_template
    root, keys = tmp_path / "app", tmp_path / "keys.env"
    shutil.copytree(src_root, root)
    shutil.copy2(src_keys, keys)  # keeps mode 0600
    monkeypatch.chdir(root)
    monkeypatch.setenv("ENVMAN_KEYS_FILE", str(keys))
    return ProjectDir(root, keys)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """An in-memory keychain as this process's keyring backend (restored afterwards)."""
    import keyring.core
    from envman_test_keyring import MemoryKeyring

    backend = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    return backend
