"""The core commands end to end: in-process through the real entry point, and as the installed executable."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from foundation_helpers import mode, write_env

from tests.helpers import assert_refused

PROD_KEY = "sk-prod-cccccccccccccccc3333"
NEW_KEY = "sk-prod-dddddddddddddddd4444"
FILE_KEY = "sk-prod-eeeeeeeeeeeeeeee5555"
DOTENV = (
    f"ALLTKN_API_KEY={PROD_KEY}\nALLTKN_BASE_URL=https://api.alltkn.com/api/v1\n"
    "ALLTKN_DEFAULT_MODEL=deepseek-chat\nAI_REQUEST_TIMEOUT_MS=60000\nAI_LOG_LEVEL=info\n"
)
CORE = ["init", "import", "set", "unset", "get", "show", "status", "history", "repair", "ledger verify"]

Run = Callable[..., Any]


@pytest.fixture(params=["in-process", "subprocess"])
def runner(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli, envman):  # type: ignore[no-untyped-def]
    """(run, root, keys, full): run(*args, input=...) in an empty folder, in-process or via the installed executable.

    ``full`` is False for the subprocess runs, which check each command once (start-up costs a process each).
    """
    root = tmp_path / "app"
    root.mkdir()
    keys = tmp_path / "keys.env"
    env = {"ENVMAN_KEYS_FILE": str(keys)}
    if request.param == "in-process":
        monkeypatch.chdir(root)

        def run(*args: str, input: str | None = None) -> Any:
            return cli(*args, input=input, env=env)
    else:
        def run(*args: str, input: str | None = None) -> Any:
            return envman(*args, input=input, cwd=root, env=env)
    return run, root, keys, request.param == "in-process"


def ok_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return json.loads(result.stdout)


def test_main_flow(runner) -> None:  # type: ignore[no-untyped-def]
    """init, import, set (argv, stdin, --from-file), unset, get, show, status, history, ledger verify, repair, all with --json."""
    run, root, keys, full = runner
    init = ok_json(run("init", "--project-id", "demo", "--keys-file", str(keys), "--json"))
    assert init == {"root": str(root), "created": True, "environments": ["test", "staging", "production"],
                    "keys": {e: str(keys) for e in ("test", "staging", "production")}}
    assert mode(keys) == 0o600
    write_env(root / ".env.production", DOTENV)
    imported = ok_json(run("import", ".env.production", "--env", "production", "--json"))
    assert imported == {"environment": "production", "version": 1, "event": "import", "ledger_seq": 1,
                        "changed": ["AI_LOG_LEVEL", "AI_REQUEST_TIMEOUT_MS", "ALLTKN_API_KEY", "ALLTKN_BASE_URL",
                                    "ALLTKN_DEFAULT_MODEL"]}
    assert ok_json(run("set", "production", "AI_LOG_LEVEL", "warn", "--json"))["version"] == 2
    assert ok_json(run("set", "production", "ALLTKN_API_KEY", "--json", input=NEW_KEY + "\n"))["version"] == 3
    (root / "key.txt").write_text(FILE_KEY + "\n")
    assert ok_json(run("set", "production", "ALLTKN_API_KEY", "--from-file", "key.txt", "--json"))["version"] == 4
    added = run("set", "production", "FEATURE_X", "true", "--type", "bool")
    assert added.exit_code == 0 and "added FEATURE_X (type bool)" in added.stderr
    assert ok_json(run("unset", "production", "FEATURE_X", "--json"))["event"] == "unset"

    row = ok_json(run("get", "production", "ALLTKN_API_KEY", "--json"))
    assert row["value"] == "sk-…5555" and row["secret"] is True and row["fingerprint"].startswith("fp1:")
    assert run("get", "production", "ALLTKN_API_KEY", "--reveal").stdout == FILE_KEY + "\n"
    if full:
        assert run("get", "production", "ALLTKN_API_KEY").stdout == "sk-…5555\n"
        assert ok_json(run("get", "production", "AI_LOG_LEVEL", "--version", "1", "--json"))["value"] == "info"
        assert ok_json(run("get", "production@2", "ALLTKN_API_KEY", "--reveal", "--json"))["value"] == PROD_KEY

    shown = ok_json(run("show", "production", "--json"))
    assert shown["environment"] == "production" and shown["version"] == 6
    assert {v["name"]: v["value"] for v in shown["variables"]}["ALLTKN_API_KEY"] == "sk-…5555"
    if full:
        text = run("show", "production")
        assert text.exit_code == 0 and "production @ version 6" in text.stdout and FILE_KEY not in text.stdout

    status = ok_json(run("status", "--json"))
    assert status["project"] == "demo"
    prod = status["environments"][2]
    assert (prod["name"], prod["version"], prod["last_known_good"]) == ("production", 6, None)
    assert prod["variables"]["ALLTKN_API_KEY"] == "sk-…5555"

    hist = ok_json(run("history", "--json"))
    assert [e["seq"] for e in hist] == [6, 5, 4, 3, 2, 1]
    assert [e["event"] for e in hist] == ["unset", "set", "set", "set", "set", "import"]
    assert hist[2]["keys"] == {"ALLTKN_API_KEY": "sk-…5555"}
    assert ok_json(run("ledger", "verify", "--json")) == {"entries": 6, "chain": None, "findings": []}
    assert ok_json(run("repair", "--json")) == {"actions": []}
    if full:
        only = ok_json(run("history", "production", "--var", "ALLTKN_API_KEY", "--limit", "1", "--json"))
        assert [e["seq"] for e in only] == [4]
        assert "import" in run("log").stdout
        assert "ok: 6 entries" in run("ledger", "verify").stdout
        assert "nothing to repair" in run("repair").stdout


def test_ledger_verify_and_repair_report_problems(runner) -> None:  # type: ignore[no-untyped-def]
    """A hand-edited profile makes `ledger verify` exit 1 naming it; repair restores the written version."""
    run, root, keys, _ = runner
    assert run("init", "--keys-file", str(keys)).exit_code == 0
    write_env(root / ".env", DOTENV)
    assert run("import", ".env", "--env", "staging").exit_code == 0
    path = root / "environments" / "staging.toml"
    path.write_text(path.read_text().replace('"info"', '"debug"'))
    verify = run("ledger", "verify", "--json")
    assert verify.exit_code == 1
    findings = json.loads(verify.stdout)["findings"]
    assert [(f["environment"], f["kind"]) for f in findings] == [("staging", "tamper")]
    assert "environments/staging.toml was edited outside envman" in run("ledger", "verify").stdout
    repaired = ok_json(run("repair", "--json"))
    assert repaired == {"actions": ["staging: restored environments/staging.toml to version 1"]}
    assert run("ledger", "verify").exit_code == 0


def test_version_help_and_bare_invocation(cli) -> None:  # type: ignore[no-untyped-def]
    """--version prints the version; every core command's --help shows an example; bare `envman` shows usage."""
    from envman import __version__

    version = cli("--version")
    assert version.exit_code == 0 and version.stdout == f"envman {__version__}\n"
    for command in CORE:
        result = cli(*command.split(), "--help")
        assert result.exit_code == 0 and "Example" in result.stdout, command
    bare = cli()
    assert bare.exit_code == 2 and "Usage: envman" in bare.stdout and "Traceback" not in bare.output


def test_installed_executable_reports_version_and_refuses_cleanly(envman, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The installed entry point prints its version, and outside a project says what to do in one line."""
    assert envman("--version").stdout.startswith("envman ")
    assert_refused(envman("status", cwd=tmp_path), "no envman.toml", "envman init")
    assert_refused(envman("get", "production", "X", "--bogus", cwd=tmp_path), "No such option")


def test_project_dir_option(seeded, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """-C DIR runs as if started in DIR; a missing DIR is a one-line usage error."""
    monkeypatch.chdir(tmp_path)
    assert cli("-C", str(seeded.root), "get", "test", "AI_LOG_LEVEL").stdout == "debug\n"
    assert_refused(cli("-C", str(tmp_path / "nope"), "status"), "nope")


def test_version_reference_and_option_conflict(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """`get ENV@N` equals `get ENV --version N`; giving both is refused."""
    assert cli("set", "staging", "AI_LOG_LEVEL", "debug").exit_code == 0
    assert cli("show", "staging@1", "--json").stdout == cli("show", "staging", "--version", "1", "--json").stdout
    assert_refused(cli("get", "staging@1", "AI_LOG_LEVEL", "--version", "2"), "--version")


def test_no_colour_without_a_terminal(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """Output carries no ANSI escapes when not on a terminal (and with NO_COLOR)."""
    for args in (["status"], ["show", "production"], ["history"], ["ledger", "verify"], ["get", "x", "Y"]):
        result = cli(*args)
        assert "\x1b[" not in result.output, args


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """use_color: a terminal gets colour unless NO_COLOR or TERM=dumb; a pipe never does."""
    from envman.cli.output import style, table, use_color

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(Tty()) and not use_color(object())
    assert style("x", bold=True, stream=Tty()) != "x"
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty()) and style("x", bold=True, stream=Tty()) == "x"
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not use_color(Tty())
    assert table(["A", "LONGER"], [["value", "x"]]).splitlines() == ["A      LONGER", "value  x"]
