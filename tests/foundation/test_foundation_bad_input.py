"""Every bad input: exit 2, one line naming the problem (no traceback), and no file changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import assert_refused

BIG = "x" * (10 * 1024 * 1024)


def _append(rel: str, data: bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.write_bytes(path.read_bytes() + data)
    return setup


def _prepend(rel: str, data: bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.write_bytes(data + path.read_bytes())
    return setup


def _replace(rel: str, old: bytes, new: bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        assert old in path.read_bytes()
        path.write_bytes(path.read_bytes().replace(old, new))
    return setup


def _file(rel: str, data: bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / rel).write_bytes(data)
    return setup


@dataclass
class Case:
    args: list[str]
    words: list[str]
    setup: Callable[[Path], None] | None = None
    input: str | bytes | None = None
    env: dict[str, str | None] = field(default_factory=dict)
    key_of: str | None = None  # put this environment's private key into ENVMAN_PRIVATE_KEY_PRODUCTION


CASES = {
    # broken files
    "manifest-toml": Case(["status"], ["envman.toml is not valid TOML", "restore it from git"], _append("envman.toml", b"\n[[[oops\n")),
    "manifest-toml-set": Case(["set", "test", "AI_LOG_LEVEL", "warn"], ["not valid TOML"], _append("envman.toml", b"\nx = = 1\n")),
    "manifest-bom": Case(["get", "test", "AI_LOG_LEVEL"], ["byte-order mark"], _prepend("envman.toml", b"\xef\xbb\xbf")),
    "profile-toml-get": Case(["get", "production", "AI_LOG_LEVEL"], ["environments/production.toml is malformed"],
                             _append("environments/production.toml", b"\n[[[oops\n")),
    "profile-toml-set": Case(["set", "production", "AI_LOG_LEVEL", "warn"], ["production.toml is malformed"],
                             _append("environments/production.toml", b"\n= broken\n")),
    "profile-hand-edit-set": Case(["set", "production", "AI_LOG_LEVEL", "warn"], ["production.toml was edited outside envman"],
                                  _replace("environments/production.toml", b"https://api.alltkn.com", b"https://api.evil.example")),
    "profile-bom": Case(["show", "production"], ["byte-order mark"], _prepend("environments/production.toml", b"\xef\xbb\xbf")),
    "dotenv-bom": Case(["import", "in.env", "--env", "test"], ["byte-order mark"], _file("in.env", b"\xef\xbb\xbfA=1\n")),
    "dotenv-crlf": Case(["import", "in.env", "--env", "test"], ["CRLF"], _file("in.env", b"A=1\r\nB=2\r\n")),
    "dotenv-nul": Case(["import", "in.env", "--env", "test"], ["NUL"], _file("in.env", b"A=1\x00\n")),
    "dotenv-latin1": Case(["import", "in.env", "--env", "test"], ["not UTF-8"], _file("in.env", b"A=caf\xe9\n")),
    "dotenv-duplicate": Case(["import", "in.env", "--env", "test"], ["in.env:2", "already set on line 1"], _file("in.env", b"A=1\nA=2\n")),
    "dotenv-bad-line": Case(["import", "in.env", "--env", "test"], ["in.env:2"], _file("in.env", b"A=1\nB='open\n")),
    "dotenv-lower-name": Case(["import", "in.env", "--env", "test"], ["invalid variable name 'lower'"], _file("in.env", b"lower=1\n")),
    "dotenv-cyrillic-name": Case(["import", "in.env", "--env", "test"], ["invalid variable name"], _file("in.env", "АPI_KEY=1\n".encode())),
    "dotenv-empty-secret": Case(["import", "in.env", "--env", "test"], ["NEW_API_KEY looks like a secret"], _file("in.env", b"NEW_API_KEY=\n")),
    "dotenv-empty-known-secret": Case(["import", "in.env", "--env", "test"], ["ALLTKN_API_KEY", "cannot be empty"],
                                      _file("in.env", b"ALLTKN_API_KEY=\n")),
    "dotenv-wrong-type": Case(["import", "in.env", "--env", "test"], ["in.env:1: AI_REQUEST_TIMEOUT_MS"],
                              _file("in.env", b"AI_REQUEST_TIMEOUT_MS=soon\n")),
    "dotenv-10mb": Case(["import", "in.env", "--env", "test"], ["larger than 1 MiB"], _file("in.env", b"BIG=" + BIG.encode() + b"\n")),
    "dotenv-missing": Case(["import", "nope.env", "--env", "test"], ["nope.env does not exist"]),
    "dotenv-empty": Case(["import", "in.env", "--env", "test"], ["defines no variables"], _file("in.env", b"# nothing\n")),
    # unknown things
    "unknown-env-get": Case(["get", "qa", "AI_LOG_LEVEL"], ["unknown environment 'qa'", "known: test, staging, production"]),
    "unknown-env-set": Case(["set", "qa", "AI_LOG_LEVEL", "info"], ["unknown environment 'qa'"]),
    "unknown-env-show": Case(["show", "qa"], ["unknown environment 'qa'"]),
    "unknown-env-import": Case(["import", "in.env", "--env", "qa"], ["unknown environment 'qa'"], _file("in.env", b"A=1\n")),
    "unknown-env-history": Case(["history", "qa"], ["unknown environment 'qa'"]),
    "unknown-var-get": Case(["get", "production", "NOPE"], ["NOPE is not set in production"]),
    "unknown-var-unset": Case(["unset", "production", "NOPE"], ["NOPE is not set in production"]),
    "unknown-var-set": Case(["set", "production", "ALLTKN_BASEURL", "https://x.example"], ["not in the schema", "ALLTKN_BASE_URL"]),
    "type-conflict": Case(["set", "production", "AI_LOG_LEVEL", "info", "--type", "string"], ["already has type log_level"]),
    "bad-value": Case(["set", "production", "AI_REQUEST_TIMEOUT_MS", "soon"], ["AI_REQUEST_TIMEOUT_MS", "positive whole number"]),
    "same-value": Case(["set", "production", "AI_LOG_LEVEL", "info"], ["already has this value"]),
    # keys
    "wrong-key": Case(["get", "production", "ALLTKN_API_KEY", "--reveal"],
                      ["wrong private key for 'production'", "ENVMAN_PRIVATE_KEY_PRODUCTION", "environment 'test'"], key_of="test"),
    "missing-key": Case(["get", "production", "ALLTKN_API_KEY", "--reveal"], ["ENVMAN_PRIVATE_KEY_PRODUCTION", "keychain"],
                        env={"ENVMAN_KEYS_FILE": None}),
    "corrupted-key": Case(["get", "production", "ALLTKN_API_KEY", "--reveal"], ["corrupted", "ENVMAN_PRIVATE_KEY_PRODUCTION"],
                          env={"ENVMAN_PRIVATE_KEY_PRODUCTION": "envman-sk1:AAAAbroken"}),
    "not-a-key": Case(["get", "production", "ALLTKN_API_KEY", "--reveal"], ["not an envman key"],
                      env={"ENVMAN_PRIVATE_KEY_PRODUCTION": "hello"}),
    "keys-file-open": Case(["get", "production", "ALLTKN_API_KEY", "--reveal"], ["does not exist"],
                           env={"ENVMAN_KEYS_FILE": "/nonexistent/keys"}),
    # secrets on argv, empty and huge values
    "secret-on-argv": Case(["set", "production", "ALLTKN_API_KEY", "sk-on-argv-0000000000"], ["must not be given on the command line"]),
    "new-secret-on-argv": Case(["set", "production", "NEW_TOKEN", "tok-on-argv-000000", "--type", "secret"], ["must not be given"]),
    "empty-secret-stdin": Case(["set", "production", "ALLTKN_API_KEY"], ["a secret cannot be empty"], input=""),
    "empty-secret-newline": Case(["set", "production", "ALLTKN_API_KEY"], ["a secret cannot be empty"], input="\n"),
    "empty-secret-file": Case(["set", "production", "ALLTKN_API_KEY", "--from-file", "empty.txt"], ["cannot be empty"],
                              _file("empty.txt", b"")),
    "10mb-stdin": Case(["set", "production", "ALLTKN_API_KEY"], ["larger than 1 MiB"], input=BIG),
    "10mb-file": Case(["set", "production", "NOTES", "--from-file", "big.txt", "--type", "string"], ["larger than 1 MiB"],
                      _file("big.txt", BIG.encode())),
    "10mb-argv": Case(["set", "production", "NOTES", BIG, "--type", "string"], ["larger than 1 MiB"]),
    "stdin-not-utf8": Case(["set", "production", "ALLTKN_API_KEY"], ["not UTF-8"], input=b"\xff\xfe\xfd"),
    "file-not-utf8": Case(["set", "production", "ALLTKN_API_KEY", "--from-file", "k.bin"], ["not UTF-8"], _file("k.bin", b"\xff\xfe")),
    "file-missing": Case(["set", "production", "ALLTKN_API_KEY", "--from-file", "nope.txt"], ["cannot read --from-file"]),
    "value-and-file": Case(["set", "production", "AI_LOG_LEVEL", "info", "--from-file", "x.txt"], ["not both"], _file("x.txt", b"x")),
    "nul-value": Case(["set", "production", "AI_LOG_LEVEL"], ["NUL"], input="in\x00fo"),
    # names
    "env-traversal-get": Case(["get", "../../etc", "AI_LOG_LEVEL"], ["invalid environment name '../../etc'"]),
    "env-traversal-set": Case(["set", "../../etc", "AI_LOG_LEVEL", "info"], ["invalid environment name"]),
    "env-traversal-init": Case(["init", "--env", "../../etc"], ["invalid environment name"]),
    "env-dot": Case(["show", "."], ["invalid environment name '.'"]),
    "env-empty": Case(["show", ""], ["invalid environment name ''"]),
    "env-upper": Case(["show", "Production"], ["invalid environment name"]),
    "env-cyrillic": Case(["show", "prоduction"], ["invalid environment name"]),
    "env-newline": Case(["show", "production\n"], ["invalid environment name"]),
    "var-traversal": Case(["set", "production", "../../etc", "x", "--type", "string"], ["invalid variable name '../../etc'"]),
    "var-newline": Case(["get", "production", "A\n"], ["invalid variable name 'A\\n'"]),
    "var-newline-set": Case(["set", "production", "A\n", "x", "--type", "string"], ["invalid variable name"]),
    "var-lower": Case(["set", "production", "ai_log_level", "info"], ["invalid variable name 'ai_log_level'"]),
    "var-cyrillic": Case(["set", "production", "АLLTKN_API_KEY", "--type", "secret"], ["invalid variable name"], input="sk-x-1234567890"),
    "var-fullwidth": Case(["get", "production", "ＡI_LOG_LEVEL"], ["invalid variable name"]),
    # versions
    "version-negative-ref": Case(["get", "production@-1", "AI_LOG_LEVEL"], ["invalid version '-1'"]),
    "version-missing-ref": Case(["show", "production@99999"], ["production has no version 99999", "versions 1 to 1"]),
    "version-text-ref": Case(["show", "production@abc"], ["invalid version 'abc'"]),
    "version-empty-ref": Case(["show", "production@"], ["empty version"]),
    "version-negative": Case(["get", "production", "AI_LOG_LEVEL", "--version", "-1"], ["invalid version '-1'"]),
    "version-missing": Case(["get", "production", "AI_LOG_LEVEL", "--version", "99999"], ["no version 99999"]),
    "version-text": Case(["show", "production", "--version", "abc"], ["invalid version 'abc'"]),
    "version-zero": Case(["show", "production", "--version", "0"], ["versions are numbered from 1"]),
    "version-good": Case(["show", "production", "--version", "good"], ["no known-good version"]),
    # usage
    "missing-argument": Case(["get", "production"], ["Missing argument 'VAR'", "envman get --help"]),
    "no-such-command": Case(["frobnicate"], ["No such command"]),
    "bad-type-choice": Case(["set", "production", "X", "1", "--type", "float"], ["--type"]),
    "history-limit": Case(["history", "--limit", "0"], ["--limit"]),
    "init-again": Case(["init"], ["already exists"]),
    "negative-value-as-option": Case(["set", "test", "AI_REQUEST_TIMEOUT_MS", "-5"], ["No such option '-5'", "goes after `--`"]),
    "deployed-not-a-fingerprint": Case(["status", "--deployed", "garbage"], ["not a config fingerprint", "ENV@VERSION:HASH"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_cleanly(seeded, cli, name: str) -> None:  # type: ignore[no-untyped-def]
    """Exit 2 with one `envman: error:` line naming the problem; every file in the project is unchanged."""
    case = CASES[name]
    if case.setup is not None:
        case.setup(seeded.root)
    env = dict(case.env)
    if case.key_of is not None:
        env["ENVMAN_PRIVATE_KEY_PRODUCTION"] = seeded.private_key(case.key_of)
    before = seeded.snapshot()
    result = cli(*case.args, input=case.input, env=env)
    line = assert_refused(result, *case.words)
    assert seeded.snapshot() == before
    assert result.stdout == ""
    if case.key_of is not None:
        assert seeded.private_key(case.key_of) not in line


@pytest.mark.parametrize("name", ["manifest-toml", "secret-on-argv", "wrong-key", "missing-key", "var-newline"])
def test_bad_input_through_the_installed_executable(seeded, envman, name: str) -> None:  # type: ignore[no-untyped-def]
    """The same refusals from a real `envman` process: exit 2, one line, nothing written."""
    case = CASES[name]
    if case.setup is not None:
        case.setup(seeded.root)
    env = {k: v for k, v in case.env.items() if v is not None}
    if case.key_of is not None:
        env["ENVMAN_PRIVATE_KEY_PRODUCTION"] = seeded.private_key(case.key_of)
    if "ENVMAN_KEYS_FILE" in case.env:
        env["ENVMAN_KEYS_FILE"] = ""
    before = seeded.snapshot()
    assert_refused(envman(*case.args, input=case.input, cwd=seeded.root, env=env), *case.words)
    assert seeded.snapshot() == before


def test_a_bug_still_gives_one_line_without_traceback(seeded, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """An unexpected exception is reported by type only (its text could carry a value), exit 2."""
    import envman.ops

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("sk-prod-cccccccccccccccc3333 leaked in a message")

    monkeypatch.setattr(envman.ops, "get", broken)
    result = cli("get", "production", "AI_LOG_LEVEL")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip() == ("envman: error: internal error (RuntimeError); please report it, "
                                     "and re-run with ENVMAN_DEBUG=1 for details")


def test_names_are_checked_before_the_value_is_read(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """A bad environment or variable name is refused before stdin is read (and never echoed raw, even with control chars)."""
    line = assert_refused(cli("set", "production", "A\r", input=b"\x80"), "invalid variable name")
    assert "\r" not in line
    assert_refused(cli("set", "qa", "ALLTKN_API_KEY", input=b"\x80"), "unknown environment 'qa'")


def test_huge_version_numbers_are_refused(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """Version selectors with thousands of digits (leading zeros too) are refused in one short line, not a crash."""
    for ref in ("production@" + "9" * 5000, "production@" + "0" * 5000 + "1"):
        result = cli("show", ref)
        if result.exit_code == 0:  # 000…0001 is version 1
            assert ref.endswith("1")
            continue
        assert len(assert_refused(result)) < 400
