"""A canary secret sent through every core command must appear nowhere it could leak."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from foundation_helpers import write_env

import envman as envman_lib
from envman.keys import read_keys_file


def _canary(tag: str) -> str:
    return f"sk-{tag}-{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


def _leaks(text: str | bytes, canaries: list[str]) -> list[str]:
    """The canaries (or their unmasked bodies) found in ``text``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [c for c in canaries if c in text or c[3:-4] in text]


def test_canary_appears_in_no_argv_output_ledger_file_exception_or_repr(
    tmp_path: Path, envman: Any, cli: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """import, set (stdin, --from-file), get, show, status, history, ledger verify, repair and load():
    the secret shows up only with --reveal, and never in argv, the ledger, environments/, errors or repr()."""
    imported, piped, filed, inproc = _canary("imp"), _canary("pipe"), _canary("file"), _canary("inproc")
    canaries = [imported, piped, filed, inproc]
    root = tmp_path / "app"
    root.mkdir()
    keys = tmp_path / "keys.env"
    env = {"ENVMAN_KEYS_FILE": str(keys)}
    runs: list[tuple[list[str], Any]] = []

    def run(*args: str, input: str | None = None, expect: int = 0, extra: dict[str, str] | None = None) -> Any:
        result = envman(*args, input=input, cwd=root, env={**env, **(extra or {})})
        assert result.exit_code == expect, (args, result.output)
        runs.append((list(args), result))
        return result

    run("init", "--project-id", "canary", "--keys-file", str(keys))
    write_env(root / ".env.production", f"CANARY_API_KEY={imported}\nAI_REQUEST_TIMEOUT_MS=60000\n")
    run("import", ".env.production", "--env", "production")
    (root / ".env.production").unlink()
    run("set", "production", "CANARY_API_KEY", input=piped + "\n")
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(filed + "\n")
    run("set", "production", "CANARY_API_KEY", "--from-file", str(secret_file))
    secret_file.unlink()
    for args in (["get", "production", "CANARY_API_KEY"], ["get", "production@1", "CANARY_API_KEY", "--json"],
                 ["show", "production"], ["status"], ["status", "--json"], ["history"], ["history", "--json"],
                 ["ledger", "verify"], ["repair", "--json"], ["rekey", "production", "--dry-run", "--json"],
                 ["rekey", "production", "--yes"], ["get", "production@1", "CANARY_API_KEY"]):
        run(*args)
    # failures on the way must not echo it either
    run("set", "production", "AI_REQUEST_TIMEOUT_MS", input=piped, expect=2)
    run("set", "production", "CANARY_API_KEY", input=filed, expect=2)  # unchanged value
    run("get", "production", "CANARY_API_KEY", "--reveal", expect=2, extra={"ENVMAN_KEYS_FILE": ""})
    run("get", "production", "CANARY_API_KEY", "--reveal", expect=2,
        extra={"ENVMAN_KEYS_FILE": "", "ENVMAN_PRIVATE_KEY_PRODUCTION": "envman-sk1:" + filed})

    # an in-process set with no ENVMAN_ACTOR runs `git config`: no child process gets the value in its argv
    children: list[Any] = []
    real_popen = subprocess.Popen.__init__

    def spy(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        children.append(args)
        real_popen(self, args, *rest, **kwargs)

    with monkeypatch.context() as mp:
        mp.setattr(subprocess.Popen, "__init__", spy)
        mp.chdir(root)
        result = cli("set", "production", "CANARY_API_KEY", input=inproc, env={**env, "ENVMAN_ACTOR": None})
    assert result.exit_code == 0, result.output
    assert children, "expected envman to ask git for the actor"
    assert not _leaks(repr(children), canaries)

    # sanity: the value really is there, and --reveal is the one way out
    revealed = envman("get", "production", "CANARY_API_KEY", "--reveal", cwd=root, env=env)
    assert revealed.stdout == inproc + "\n"

    for args, result in runs:
        assert not _leaks(" ".join(args), canaries), args
        assert not _leaks(result.stdout, canaries), (args, result.stdout)
        assert not _leaks(result.stderr, canaries), (args, result.stderr)
        assert "Traceback" not in result.output
    assert any("sk-…" in result.stdout for _, result in runs)  # masked forms were shown
    private_keys = [k for v in read_keys_file(keys).values() for k in v.split(",") if k]
    assert len(private_keys) == 4, "three environments' keys and production's retired one"
    for args, result in runs:  # private keys (rekey made one, retired one) are never printed either
        assert not _leaks(result.output, private_keys), args

    for path in sorted(root.rglob("*")):
        if path.is_file():
            assert not _leaks(path.read_bytes(), canaries), path
    assert not _leaks((root / "environments" / "ledger.jsonl").read_bytes(), canaries)

    # the library: settings, secret values, stored records and errors
    monkeypatch.chdir(root)
    monkeypatch.setenv("ENVMAN_KEYS_FILE", str(keys))
    settings = envman_lib.load("production")
    assert inproc == settings.CANARY_API_KEY
    for text in (repr(settings), str(settings), repr(settings.as_dict()), str(settings.as_dict()),
                 repr(settings.CANARY_API_KEY), str(settings.CANARY_API_KEY),
                 "%s" % settings.CANARY_API_KEY):  # noqa: UP031 - %-formatting is what logging does
        assert not _leaks(text, canaries), text
    from envman.crypto import Secret
    from envman.ops import Project

    project = Project.open()
    profile = project.store.current("production")
    secret = project.reveal("production", "CANARY_API_KEY", profile.secrets["CANARY_API_KEY"])
    for obj in (secret, profile, profile.secrets["CANARY_API_KEY"], profile.meta, Secret(inproc)):
        assert not _leaks(repr(obj), canaries) and not _leaks(str(obj), canaries)
    errors: list[BaseException] = []
    for override in ({"AI_REQUEST_TIMEOUT_MS": inproc}, {"CANARY_API_KEY": ""}):
        try:
            envman_lib.load("production", environ=override)
        except envman_lib.EnvmanError as exc:
            errors.append(exc)
    from envman.ops import set_var

    try:
        set_var(project, "production", "AI_REQUEST_TIMEOUT_MS", inproc)
    except envman_lib.EnvmanError as exc:
        errors.append(exc)
    try:
        project.decryptor("production").decrypt("OTHER_KEY", profile.secrets["CANARY_API_KEY"].ciphertext)
    except envman_lib.EnvmanError as exc:
        errors.append(exc)
    assert len(errors) == 4
    for exc in errors:
        assert not _leaks(str(exc), canaries) and not _leaks(repr(exc), canaries), exc
