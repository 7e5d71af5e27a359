"""Interrupted writes: a writer killed, or the server gone, between the steps of a change.

A recording proxy in front of the real server stops the change at an exact
request: it SIGKILLs the `envman` process that sent it (a crash) or closes the
connection unanswered (the server is gone). Afterwards no half-written state is
visible and the next writer (or `envman repair`) completes the change.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from typing import Any

import pytest

from tests.conftest import ENVMAN_BIN
from tests.openbao.conftest import use_openbao


def _through(proxy: Any, bao_seeded: Any) -> None:
    use_openbao(bao_seeded.root, proxy.address, bao_seeded.prefix)


def _profile_write(prefix: str, env: str) -> tuple[str, str]:
    return "POST", f"/v1/secret/data/{prefix}/profiles/{env}"


def _head_write(prefix: str) -> tuple[str, str]:
    return "POST", f"/v1/secret/data/{prefix}/head"


def run_killed_at(proxy: Any, root: Any, args: list[str], at: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `envman ARGS` and SIGKILL it when it sends request ``at`` (which never reaches the server)."""
    assert ENVMAN_BIN
    proc = subprocess.Popen([ENVMAN_BIN, *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))

    def hook(method: str, path: str) -> str | None:
        if (method, path) == at:
            os.kill(proc.pid, signal.SIGKILL)
            return "drop"
        return None

    proxy.on_request = hook
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proxy.on_request = None
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, out, err)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _value(cli, env: str, var: str) -> str:  # type: ignore[no-untyped-def]
    r = cli("get", env, var)
    assert r.exit_code == 0, r.output
    return str(r.stdout.strip())


def _verify(cli) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = cli("ledger", "verify", "--json")
    data: dict[str, Any] = json.loads(r.stdout)
    data["exit_code"] = r.exit_code
    return data


def test_killed_after_the_ledger_entry_then_repair(bao_seeded, proxy, cli) -> None:  # type: ignore[no-untyped-def]
    """Killed between ledger append and profile write: readers see the old version, verify says "interrupted", repair completes it."""
    _through(proxy, bao_seeded)
    run_killed_at(proxy, bao_seeded.root, ["set", "test", "AI_LOG_LEVEL", "error"], _profile_write(bao_seeded.prefix, "test"))
    assert _value(cli, "test", "AI_LOG_LEVEL") == "debug"  # the old version, whole
    report = _verify(cli)
    assert report["exit_code"] == 1 and report["chain"] is None
    assert report["findings"] and all(f["kind"] == "crash" for f in report["findings"])
    r = cli("repair", "--json")
    assert r.exit_code == 0 and any("completed versions 2 to 2" in a for a in json.loads(r.stdout)["actions"]), r.output
    assert _value(cli, "test", "AI_LOG_LEVEL") == "error"
    assert _verify(cli) == {"entries": 4, "chain": None, "findings": [], "exit_code": 0}
    assert json.loads(cli("repair", "--json").stdout)["actions"] == []


def test_killed_after_the_ledger_entry_next_writer_rolls_forward(bao_seeded, proxy, cli) -> None:  # type: ignore[no-untyped-def]
    """After such a crash a writer of another environment completes the stranded change and then lands its own."""
    _through(proxy, bao_seeded)
    run_killed_at(proxy, bao_seeded.root, ["set", "test", "AI_LOG_LEVEL", "error"], _profile_write(bao_seeded.prefix, "test"))
    r = cli("set", "staging", "AI_LOG_LEVEL", "warning", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["ledger_seq"] == 5, r.output
    assert _value(cli, "test", "AI_LOG_LEVEL") == "error"
    assert _value(cli, "staging", "AI_LOG_LEVEL") == "warning"
    assert _verify(cli)["exit_code"] == 0


def test_killed_after_the_ledger_entry_same_environment_is_told_to_rerun(bao_seeded, proxy, cli) -> None:  # type: ignore[no-untyped-def]
    """A writer of the same environment drafted on the old version: it completes the stranded change, is told to re-run, then lands."""
    _through(proxy, bao_seeded)
    run_killed_at(proxy, bao_seeded.root, ["set", "test", "AI_LOG_LEVEL", "error"], _profile_write(bao_seeded.prefix, "test"))
    r = cli("set", "test", "AI_REQUEST_TIMEOUT_MS", "1234")
    assert r.exit_code == 2 and "changed by someone else" in r.stderr and "re-run the command" in r.stderr, r.output
    assert _value(cli, "test", "AI_LOG_LEVEL") == "error"
    assert cli("set", "test", "AI_REQUEST_TIMEOUT_MS", "1234").exit_code == 0
    assert (_value(cli, "test", "AI_LOG_LEVEL"), _value(cli, "test", "AI_REQUEST_TIMEOUT_MS")) == ("error", "1234")
    assert _verify(cli)["exit_code"] == 0


def test_killed_before_the_head_is_published(bao_seeded, proxy, cli) -> None:  # type: ignore[no-untyped-def]
    """Killed after the profile write, before the head: the version is visible and the next writer carries on without conflict."""
    _through(proxy, bao_seeded)
    run_killed_at(proxy, bao_seeded.root, ["set", "test", "AI_LOG_LEVEL", "error"], _head_write(bao_seeded.prefix))
    assert _value(cli, "test", "AI_LOG_LEVEL") == "error"
    assert cli("set", "test", "AI_REQUEST_TIMEOUT_MS", "1234").exit_code == 0
    head = bao_seeded.dir.open().store.head()
    assert (head.seq, head.versions["test"]) == (5, 3)
    assert _verify(cli)["exit_code"] == 0


def test_promote_killed_midway_is_completed(bao_seeded, proxy, cli) -> None:  # type: ignore[no-untyped-def]
    """A promote killed between its ledger entry and the target's profile write is completed by `repair`, exactly as planned."""
    _through(proxy, bao_seeded)
    assert cli("set", "test", "ALLTKN_DEFAULT_MODEL", "deepseek-reasoner").exit_code == 0
    run_killed_at(proxy, bao_seeded.root, ["promote", "test", "staging", "--yes", "--force"], _profile_write(bao_seeded.prefix, "staging"))
    assert _value(cli, "staging", "ALLTKN_DEFAULT_MODEL") == "deepseek-chat"
    assert cli("repair").exit_code == 0
    assert _value(cli, "staging", "ALLTKN_DEFAULT_MODEL") == "deepseek-reasoner"
    history = json.loads(cli("history", "staging", "--json").stdout)
    assert [e["event"] for e in history] == ["promote", "import"]
    assert _verify(cli)["exit_code"] == 0


@pytest.mark.parametrize("stop_at", ["profile", "head"])
def test_server_gone_midway_then_back(bao_seeded, proxy, cli, stop_at) -> None:  # type: ignore[no-untyped-def]
    """The server stops answering after the commit point: one clear line saying the change was recorded; once back, it completes."""
    _through(proxy, bao_seeded)
    target = _profile_write(bao_seeded.prefix, "test") if stop_at == "profile" else _head_write(bao_seeded.prefix)

    def hook(method: str, path: str) -> str | None:
        if (method, path) == target:
            proxy.down = True
        return None

    proxy.on_request = hook
    r = cli("set", "test", "AI_LOG_LEVEL", "error")
    proxy.on_request = None
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert "cannot reach OpenBao" in r.stderr and "recorded as ledger entry #4 but not fully applied" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    down = cli("get", "test", "AI_LOG_LEVEL")
    assert down.exit_code == 2 and "cannot reach OpenBao" in down.stderr
    proxy.down = False
    assert cli("set", "staging", "AI_LOG_LEVEL", "warning").exit_code == 0
    assert _value(cli, "test", "AI_LOG_LEVEL") == "error"
    assert _verify(cli) == {"entries": 5, "chain": None, "findings": [], "exit_code": 0}


def test_server_gone_before_the_commit_point_changes_nothing(bao_seeded, proxy, cli) -> None:  # type: ignore[no-untyped-def]
    """The server goes away before the ledger entry is written: exit 2, and nothing of the change exists afterwards."""
    _through(proxy, bao_seeded)

    def hook(method: str, path: str) -> str | None:
        if method == "POST" and "/ledger/" in path:
            proxy.down = True
        return None

    proxy.on_request = hook
    r = cli("set", "test", "AI_LOG_LEVEL", "error")
    proxy.on_request, proxy.down = None, False
    assert r.exit_code == 2 and "cannot reach OpenBao" in r.stderr and "may or may not have been recorded" in r.stderr, r.output
    assert _value(cli, "test", "AI_LOG_LEVEL") == "debug"
    assert _verify(cli) == {"entries": 3, "chain": None, "findings": [], "exit_code": 0}


def test_reply_lost_after_the_commit_point_is_completed_later(bao_seeded, proxy, cli) -> None:  # type: ignore[no-untyped-def]
    """The ledger entry reached the server but its reply was lost: the error says it may be recorded; the next writer completes it."""
    _through(proxy, bao_seeded)

    def hook(method: str, path: str) -> str | None:
        return "lose-reply" if method == "POST" and "/ledger/" in path else None

    proxy.on_request = hook
    r = cli("set", "test", "AI_LOG_LEVEL", "error")
    proxy.on_request = None
    assert r.exit_code == 2 and "may or may not have been recorded" in r.stderr, r.output
    assert _value(cli, "test", "AI_LOG_LEVEL") == "debug"
    assert cli("set", "staging", "AI_LOG_LEVEL", "warning").exit_code == 0
    assert _value(cli, "test", "AI_LOG_LEVEL") == "error"
    assert _verify(cli) == {"entries": 5, "chain": None, "findings": [], "exit_code": 0}
