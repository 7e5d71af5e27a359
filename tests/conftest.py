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

from envman.keys import env_var_name, read_keys_file

pytest_plugins = ["tests.canary_plugin"]

ENVMAN_BIN = shutil.which("envman", path=str(Path(sys.executable).parent)) or shutil.which("envman")

EXAMPLE_ENV = {
    "test": "ALLTKN_API_KEY=sk-test-aaaaaaaaaaaaaaaa1111\nALLTKN_BASE_URL=https://api.alltkn.com/api/v1\n"
    "ALLTKN_DEFAULT_MODEL=deepseek-chat\nAI_REQUEST_TIMEOUT_MS=60000\nAI_LOG_LEVEL=debug\n",
    "staging": "ALLTKN_API_KEY=sk-stag-bbbbbbbbbbbbbbbb2222\nALLTKN_BASE_URL=https://api.alltkn.com/api/v1\n"
    "ALLTKN_DEFAULT_MODEL=deepseek-chat\nAI_REQUEST_TIMEOUT_MS=60000\nAI_LOG_LEVEL=info\n",
    "production": "ALLTKN_API_KEY=sk-prod-cccccccccccccccc3333\nALLTKN_BASE_URL=https://api.alltkn.com/api/v1\n"
    "ALLTKN_DEFAULT_MODEL=deepseek-chat\nAI_REQUEST_TIMEOUT_MS=60000\nAI_LOG_LEVEL=info\n",
}


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class ProjectDir:
    root: Path
    keys_file: Path

    def private_key(self, env: str) -> str:
        return read_keys_file(self.keys_file)[env_var_name(env)]

    def snapshot(self) -> dict[str, bytes]:
        """Every file's bytes (excluding the lock), to prove a failed command changed nothing."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and p.name != ".lock"
        }

    def open(self):  # type: ignore[no-untyped-def]
        from envman.ops import Project

        return Project.open(self.root)


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
    from envman.ops import init_project

    root = tmp_path / "app"
    root.mkdir()
    keys = tmp_path / "keys.env"
    init_project(root, project_id="demo-app", keys_file=keys)
    monkeypatch.chdir(root)
    monkeypatch.setenv("ENVMAN_KEYS_FILE", str(keys))
    yield ProjectDir(root, keys)


@pytest.fixture
def seeded(project: ProjectDir) -> ProjectDir:
    """The project with the LLM example imported into all three environments (distinct keys)."""
    from envman.ops import Project, import_dotenv

    for env, text in EXAMPLE_ENV.items():
        path = project.root / f".env.{env}"
        path.write_text(text)
        import_dotenv(Project.open(project.root), path, env)
        path.unlink()
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
