"""Leaks: the run's canary secret goes through every command and must come out only where asked for.

The checking is done by the suite-wide canary plugin (tests/canary_plugin.py):
using the ``canary`` fixture is enough to have every command's output, every log
record, every exception (rendered with its locals), every subprocess's argv and
every file left behind checked. These tests drive the canary through the paths
where a secret usually escapes, and check file modes and keychain refusals.
"""

from __future__ import annotations

import contextlib
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import make_live

from envman.keys import KEYRING_SERVICE, _usable_keyring, keyring_user
from tests.helpers import assert_refused, umask


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_canary_through_every_command(seeded, cli, envman, canary, tmp_path: Path, figures) -> None:  # type: ignore[no-untyped-def]
    """The canary set as production's key (stdin) then driven through get, show, status, history, diff, check, ledger
    verify, handoff, promote (dry run), rotate, export (no secrets, and to a 0600 file), scan, repair, refusals (the
    same value again, a wrong key, no key), `envman.load()` with DEBUG logging: it appears only in `--reveal` output
    and the export file — the plugin checks every other channel."""
    make_live(seeded)
    value = canary.value
    assert cli("set", "production", "ALLTKN_API_KEY", input=value + "\n").exit_code == 0
    assert envman("get", "production", "ALLTKN_API_KEY", "--reveal", cwd=seeded.root).stdout == value + "\n"
    ran = 0
    for args in (["get", "production", "ALLTKN_API_KEY"], ["get", "production", "ALLTKN_API_KEY", "--json"],
                 ["show", "production"], ["show", "production", "--json"], ["status"], ["status", "--json"],
                 ["history"], ["history", "--json"], ["diff", "staging", "production"], ["diff", "production@3", "production"],
                 ["check"], ["check", "--format", "sarif"], ["ledger", "verify", "--json"], ["handoff", "production"],
                 ["promote", "staging", "production", "--dry-run", "--force"], ["owner", "production", "ALLTKN_API_KEY"],
                 ["export", "production", "--format", "json", "--no-secrets"], ["repair"]):
        result = cli(*args)
        assert result.exit_code in (0, 1), (args, result.output)
        ran += 1
    out = canary.allow(tmp_path / "prod.env")  # plaintext is the point of this file: it must be 0600 instead
    assert cli("export", "production", "--format", "dotenv", "-o", str(out)).exit_code == 0
    assert value in out.read_text() and _mode(out) == 0o600
    # scanning finds the canary in a file without printing it
    leaked = canary.allow(seeded.root / "build" / "bundle.js")
    leaked.parent.mkdir()
    leaked.write_text(f'const key = "{value}";\n')
    scanned = cli("scan", "build")
    assert scanned.exit_code == 1 and "bundle.js" in scanned.stdout, scanned.output
    leaked.unlink()
    # refusals with the plaintext in hand
    assert_refused(cli("set", "production", "ALLTKN_API_KEY", input=value), "already has this value")
    assert_refused(cli("rotate", "production", "ALLTKN_API_KEY", input=value), "equals the current one")
    assert_refused(cli("get", "production", "ALLTKN_API_KEY", "--reveal", env={"ENVMAN_KEYS_FILE": "", "ENVMAN_PRIVATE_KEY_PRODUCTION":
                                                                              seeded.private_key("staging")}), "wrong private key")
    assert_refused(cli("get", "production", "ALLTKN_API_KEY", "--reveal", env={"ENVMAN_KEYS_FILE": ""}), "ENVMAN_PRIVATE_KEY_PRODUCTION")
    assert cli("rotate", "production", "ALLTKN_API_KEY", input="sk-prod-after-canary-0000000001").exit_code == 0
    # the installed executable, reading and failing
    for args in (["status"], ["history", "--limit", "3"], ["get", "production", "ALLTKN_API_KEY", "--version", "4"]):
        assert envman(*args, cwd=seeded.root).exit_code == 0
        ran += 1
    # the library, logging everything at DEBUG
    import envman as lib

    logging.getLogger("envman").debug("loading production")
    settings = lib.load("production")
    for text in (repr(settings), str(settings), repr(settings.as_dict())):
        assert value not in text
    for environ in ({"AI_REQUEST_TIMEOUT_MS": "soon"}, {"ALLTKN_API_KEY": ""}):  # refused after decrypting
        with pytest.raises(lib.EnvmanError):
            lib.load("production", environ=environ)
    figures.add("leaks", commands_through_canary=ran + 9)


def test_canary_in_refusals_rendered_with_locals(seeded, cli, canary) -> None:  # type: ignore[no-untyped-def]
    """A command refused while the plaintext is in hand (unchanged value, a value for the wrong type, a value with a
    NUL, a rotation to the current value): the plugin renders each exception with every frame's locals, as a crash
    reporter would, and finds no canary."""
    value = canary.value
    assert cli("set", "production", "ALLTKN_API_KEY", input=value).exit_code == 0
    assert_refused(cli("set", "production", "ALLTKN_API_KEY", input=value), "already has this value")
    assert_refused(cli("set", "production", "AI_REQUEST_TIMEOUT_MS", input=value), "AI_REQUEST_TIMEOUT_MS")
    assert_refused(cli("set", "production", "ALLTKN_API_KEY", input=value + "\x00"), "NUL")
    assert_refused(cli("rotate", "production", "ALLTKN_API_KEY", input=value), "equals the current one")


FORMATS_WITH_SECRETS = ["dotenv", "shell", "json", "yaml", "docker", "k8s-secret", "github-actions", "systemd", "fly", "vercel", "heroku"]


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_files_holding_plaintext_are_0600_under_any_umask(seeded, cli, tmp_path: Path, mask: int, figures) -> None:  # type: ignore[no-untyped-def]
    """Every export format that carries secrets writes its file 0600 — new, or replacing a 0644/0666 file — under
    umask 022 and 000; a keys file from `init --keys-file` is 0600 too; an export without secrets keeps 0644."""
    with umask(mask):
        checked = 0
        for fmt in FORMATS_WITH_SECRETS:
            for existing in (None, 0o644, 0o666):
                out = tmp_path / f"out-{fmt}-{existing}.txt"
                if existing is not None:
                    out.write_text("old\n")
                    out.chmod(existing)
                result = cli("export", "production", "--format", fmt, "-o", str(out))
                assert result.exit_code == 0, (fmt, result.output)
                assert _mode(out) == 0o600, (fmt, existing, oct(_mode(out)))
                checked += 1
        plain = tmp_path / "plain.json"
        assert cli("export", "production", "--format", "json", "--no-secrets", "-o", str(plain)).exit_code == 0
        assert _mode(plain) == 0o644
        other = tmp_path / "other"
        other.mkdir()
        keys = tmp_path / "other.keys"
        assert cli("-C", str(other), "init", "--keys-file", str(keys)).exit_code == 0
        assert _mode(keys) == 0o600
    figures.add("leaks", plaintext_files_checked_0600=checked + 1)


def _alt_backends() -> list[Any]:
    """Every keyrings.alt backend that can be instantiated here, plus keyring's own null and fail backends."""
    from keyring.backends import fail, null

    found: list[Any] = [null.Keyring(), fail.Keyring()]
    try:
        import keyrings.alt.file as alt_file
    except ImportError:
        return found
    for cls in (alt_file.PlaintextKeyring, alt_file.EncryptedKeyring):
        with contextlib.suppress(Exception):  # EncryptedKeyring needs pycryptodome
            found.append(cls())
    for name in ("keyrings.alt.multi", "keyrings.alt.keyczar", "keyrings.alt.Gnome"):
        try:
            module = __import__(name, fromlist=["x"])
        except Exception:  # noqa: BLE001 - optional platform backends may fail to import in many ways
            continue
        for attr in dir(module):
            cls = getattr(module, attr)
            if isinstance(cls, type) and attr.endswith("Keyring") and cls.__module__ == name:
                try:
                    found.append(cls())
                except Exception:  # noqa: BLE001 - some need a platform service
                    continue
    return found


def test_unsafe_keychains_are_refused(seeded, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures) -> None:  # type: ignore[no-untyped-def]
    """With no keychain or only a plaintext/null one (each keyrings.alt backend, keyring's null and fail, and a chainer
    over them): envman never uses it — init writes a 0600 keys file instead, a key planted in it is not read, and a
    command that needs the key is refused in one line naming ENVMAN_PRIVATE_KEY_<ENV>."""
    import keyring.core
    from keyring.backends.chainer import ChainerBackend

    pytest.importorskip("keyrings.alt")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    backends = _alt_backends()
    # keyring's chainer lists every installed backend; this one chains only the unsafe ones
    chainer = type("UnsafeChain", (ChainerBackend,), {"backends": [b for b in backends if type(b).__name__ != "Keyring"]})()
    refused = 0
    for backend in [*backends, chainer]:
        monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
        assert _usable_keyring() is None, type(backend)
        with contextlib.suppress(Exception):  # plant the right key where a careless tool would look (null/fail store nothing)
            backend.set_password(KEYRING_SERVICE, keyring_user("demo-app", "production"), seeded.private_key("production"))
        line = assert_refused(cli("get", "production", "ALLTKN_API_KEY", "--reveal", env={"ENVMAN_KEYS_FILE": None}),
                              "ENVMAN_PRIVATE_KEY_PRODUCTION")
        assert seeded.private_key("production") not in line
        root = tmp_path / f"init-{refused}"
        root.mkdir()
        assert cli("-C", str(root), "init", env={"ENVMAN_KEYS_FILE": None}).exit_code == 0
        monkeypatch.chdir(seeded.root)  # -C changed this process's folder
        assert _mode(root / ".envman-keys") == 0o600
        refused += 1
    figures.add("leaks", unsafe_keychains_refused=refused)


def test_the_canary_check_is_live(tmp_path: Path) -> None:
    """The plugin's detectors catch planted leaks — in any encoded form, in a frame's locals outside the tests, in a
    file — and exempt exactly the commands meant to print plaintext, so a green run means something."""
    import base64

    from tests.canary_plugin import _reveals, _scan, _traceback_leaks, canary_value, leaked

    value = canary_value()
    assert value.startswith("sk-canary-") and len(value) > 40
    assert leaked(f"x{value}y") and leaked(value[3:-4]) and leaked(base64.b64encode(value.encode()))
    assert not leaked("sk-…" + value[-4:])  # the masked form is fine
    namespace: dict[str, Any] = {}
    exec(compile("def f(secret):\n    raise ValueError('no')\n", "/envman/fake_module.py", "exec"), namespace)
    with pytest.raises(ValueError) as raised:
        namespace["f"](value)
    assert _traceback_leaks(raised.value) == ["local 'secret' of f() in fake_module.py"]
    planted = tmp_path / ".x.123.tmp"
    planted.write_text(value)
    (tmp_path / "clean.txt").write_text("nothing")
    assert _scan([tmp_path], set(), value) == (2, [str(planted)])
    planted.unlink()  # else the session-end sweep reports it, as it should
    assert _reveals(["get", "production", "K", "--reveal"]) and _reveals(["export", "production", "--format", "json"])
    assert not _reveals(["export", "production", "--format", "json", "--no-secrets"]) and not _reveals(["show", "production"])
