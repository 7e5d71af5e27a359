"""Helpers shared by several test folders (plain functions and data; the fixtures live in the conftest.py files).

Imported as ``tests.helpers`` (pytest puts the repository root on sys.path).
"""

from __future__ import annotations

import ast
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from envman.keys import env_var_name, read_keys_file

if TYPE_CHECKING:
    from envman.ops import Project

EXAMPLE_ENV = {
    "test": "ALLTKN_API_KEY=sk-test-aaaaaaaaaaaaaaaa1111\nALLTKN_BASE_URL=https://api.alltkn.com/api/v1\n"
    "ALLTKN_DEFAULT_MODEL=deepseek-chat\nAI_REQUEST_TIMEOUT_MS=60000\nAI_LOG_LEVEL=debug\n",
    "staging": "ALLTKN_API_KEY=sk-stag-bbbbbbbbbbbbbbbb2222\nALLTKN_BASE_URL=https://api.alltkn.com/api/v1\n"
    "ALLTKN_DEFAULT_MODEL=deepseek-chat\nAI_REQUEST_TIMEOUT_MS=60000\nAI_LOG_LEVEL=info\n",
    "production": "ALLTKN_API_KEY=sk-prod-cccccccccccccccc3333\nALLTKN_BASE_URL=https://api.alltkn.com/api/v1\n"
    "ALLTKN_DEFAULT_MODEL=deepseek-chat\nAI_REQUEST_TIMEOUT_MS=60000\nAI_LOG_LEVEL=info\n",
}


# -- projects --------------------------------------------------------------------------------

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

    def open(self) -> Project:
        from envman.ops import Project

        return Project.open(self.root)


def init_project_at(root: Path, keys: Path, monkeypatch: pytest.MonkeyPatch, *, project_id: str = "demo-app") -> ProjectDir:
    """Create ``root`` and initialise a project there (test, staging, production) with its private keys in ``keys``;
    cwd and ENVMAN_KEYS_FILE point at it."""
    from envman.ops import init_project

    root.mkdir(parents=True)
    init_project(root, project_id=project_id, keys_file=keys)
    monkeypatch.chdir(root)
    monkeypatch.setenv("ENVMAN_KEYS_FILE", str(keys))
    return ProjectDir(root, keys)


def seed_example(root: Path) -> None:
    """Import the LLM example (EXAMPLE_ENV) into test, staging and production of the project at ``root``."""
    from envman.ops import Project, import_dotenv

    for env, text in EXAMPLE_ENV.items():
        path = root / f".env.{env}"
        path.write_text(text)
        import_dotenv(Project.open(root), path, env)
        path.unlink()


# -- assertions and process state ------------------------------------------------------------

def assert_refused(result: Any, *words: str) -> str:
    """Exit 2, exactly one ``envman: error:`` line on stderr, no traceback, naming each of ``words``; returns the line."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("envman: error: "), lines[0]
    assert "internal error" not in lines[0], lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return str(lines[0])


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run the block under ``mask`` (inherited by subprocesses started inside it)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


_LOCAL = {"127.0.0.1", "localhost", b"127.0.0.1", b"localhost"}


def local_network_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, and fail loudly if anything in this process resolves or connects beyond 127.0.0.1."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.lower(), raising=False)
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in _LOCAL:
            raise RuntimeError(f"test tried to resolve {host!r}; only 127.0.0.1 is allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] != "127.0.0.1":
            raise RuntimeError(f"test tried to connect to {address!r}; only 127.0.0.1")
        real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


# -- source code -----------------------------------------------------------------------------

def source_imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module top level?) for every absolute import statement in a source file, lazy ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
    return found
