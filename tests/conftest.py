"""Shared fixtures: a fresh project with keys, and two ways to run the CLI.

``cli`` runs the real entry point (``envman.cli.main``, with its error
boundary) in-process through click's CliRunner isolation; ``envman`` runs the
installed ``envman`` executable as a subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import ProjectDir, init_project_at, seed_example

pytest_plugins = ["tests.canary_plugin"]

ENVMAN_BIN = shutil.which("envman", path=str(Path(sys.executable).parent)) or shutil.which("envman")


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's keys, keychain, project or colour settings."""
    for name in list(os.environ):
        if name.startswith("ENVMAN_") or name.startswith("ALLTKN_") or name.startswith("AI_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVMAN_ACTOR", "tester")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProjectDir]:
    """An initialised project (test, staging, production) with keys in a 0600 keys file; cwd is its root."""
    yield init_project_at(tmp_path / "app", tmp_path / "keys.env", monkeypatch)


@pytest.fixture
def seeded(project: ProjectDir) -> ProjectDir:
    """The project with the LLM example imported into all three environments (distinct keys)."""
    seed_example(project.root)
    return project


def _run_main(args: list[str], input: str | bytes | None, env: dict[str, str] | None) -> Result:
    from envman.cli import main

    runner = CliRunner()
    with runner.isolation(input=input, env=env) as outstreams:
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        else:  # pragma: no cover - main always exits
            code = 0
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = outstreams[0].getvalue(), outstreams[1].getvalue()
    return Result(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    """Run envman in-process through its real entry point: ``cli("get", "test", "X", input=...)``."""

    def run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
        return _run_main(list(args), input, env)

    return run


@pytest.fixture
def envman():  # type: ignore[no-untyped-def]
    """Run the installed envman executable: ``envman("status", cwd=..., input=...)``."""
    assert ENVMAN_BIN, "the envman entry point is not installed in this interpreter's environment"

    def run(*args: str, input: str | None = None, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> Result:
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run(
            [ENVMAN_BIN, *args], input=input, capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run
