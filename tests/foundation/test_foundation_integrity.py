"""Tampering and crashes: swapped ciphertext is named, interrupted writes roll forward and are repaired."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import tomli_w

import envman.store.files as files
from envman.ops import Project, set_var
from tests.helpers import assert_refused

STAG_KEY = "sk-stag-bbbbbbbbbbbbbbbb2222"
PROD_KEY = "sk-prod-cccccccccccccccc3333"
TOKEN = "tok-prod-ffffffffffffffff6666"


def _edit_profile(root: Path, env: str, edit) -> None:  # type: ignore[no-untyped-def]
    """Rewrite a profile's TOML by hand (as someone with write access to the repository would)."""
    path = root / "environments" / f"{env}.toml"
    data = tomllib.loads(path.read_text())
    edit(data)
    path.write_text(tomli_w.dumps(data))


def _two_secrets(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("set", "production", "OTHER_TOKEN", "--type", "secret", input=TOKEN)
    assert r.exit_code == 0, r.output


def test_ciphertext_swapped_between_variables_is_detected(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """Two secrets' ciphertexts exchanged in production.toml: --reveal names the variable as tampered (exit 2), verify exits 1."""
    _two_secrets(seeded, cli)

    def swap(data: dict) -> None:  # type: ignore[type-arg]
        s = data["secrets"]
        s["ALLTKN_API_KEY"]["ciphertext"], s["OTHER_TOKEN"]["ciphertext"] = s["OTHER_TOKEN"]["ciphertext"], s["ALLTKN_API_KEY"]["ciphertext"]

    _edit_profile(seeded.root, "production", swap)
    line = assert_refused(cli("get", "production", "ALLTKN_API_KEY", "--reveal"), "production/ALLTKN_API_KEY", "tampered")
    assert PROD_KEY not in line and TOKEN not in line
    assert_refused(cli("get", "production", "OTHER_TOKEN", "--reveal"), "production/OTHER_TOKEN", "tampered")
    verify = cli("ledger", "verify", "--json")
    assert verify.exit_code == 1
    assert [f["environment"] for f in json.loads(verify.stdout)["findings"]] == ["production"]
    # nothing builds on the edit; repair puts the written version back and the values read again
    assert_refused(cli("set", "production", "AI_LOG_LEVEL", "debug"), "edited outside envman")
    assert cli("repair").exit_code == 0
    assert cli("get", "production", "ALLTKN_API_KEY", "--reveal").stdout == PROD_KEY + "\n"


def test_whole_secret_record_copied_between_environments_is_detected(seeded, cli, envman) -> None:  # type: ignore[no-untyped-def]
    """staging's record (ciphertext, mask, fingerprint) copied into production: refused as tampering, verify exits 1."""
    staging = tomllib.loads((seeded.root / "environments" / "staging.toml").read_text())

    def copy(data: dict) -> None:  # type: ignore[type-arg]
        data["secrets"]["ALLTKN_API_KEY"] = staging["secrets"]["ALLTKN_API_KEY"]

    _edit_profile(seeded.root, "production", copy)
    line = assert_refused(cli("get", "production", "ALLTKN_API_KEY", "--reveal"), "production/ALLTKN_API_KEY", "tampered")
    assert STAG_KEY not in line
    # from the installed executable too, with the production key in the environment (as in CI)
    env = {"ENVMAN_KEYS_FILE": "", "ENVMAN_PRIVATE_KEY_PRODUCTION": seeded.private_key("production")}
    assert_refused(envman("get", "production", "ALLTKN_API_KEY", "--reveal", cwd=seeded.root, env=env), "tampered")
    verify = envman("ledger", "verify", cwd=seeded.root)
    assert verify.exit_code == 1 and "production.toml was edited outside envman" in verify.stdout


def test_ciphertext_only_swapped_between_environments_is_detected(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """Only the ciphertext string moved from test to staging (mask left alone): still tampering."""
    test = tomllib.loads((seeded.root / "environments" / "test.toml").read_text())

    def swap(data: dict) -> None:  # type: ignore[type-arg]
        data["secrets"]["ALLTKN_API_KEY"]["ciphertext"] = test["secrets"]["ALLTKN_API_KEY"]["ciphertext"]

    _edit_profile(seeded.root, "staging", swap)
    assert_refused(cli("get", "staging", "ALLTKN_API_KEY", "--reveal"), "staging/ALLTKN_API_KEY", "tampered")
    assert cli("ledger", "verify").exit_code == 1


# -- interrupted writes ------------------------------------------------------------------

class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no cleanup code catches it."""


def _set_killed_after_commit(root: Path, env: str, var: str, value: str) -> None:
    """Run `set` but stop right after the ledger append (the commit point), as if the process was killed there."""
    real = files.atomic_write

    def write(path: Path, data: bytes, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if "versions" not in path.parts:  # the version file is written, the profile and head are not
            raise Killed
        real(path, data, **kwargs)

    with pytest.MonkeyPatch.context() as mp, pytest.raises(Killed):
        mp.setattr(files, "atomic_write", write)
        set_var(Project.open(root), env, var, value)


def test_write_killed_after_commit_point_rolls_forward(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """Version file + ledger line written, profile and head not: verify calls it an interrupted write, the next set completes it."""
    _set_killed_after_commit(seeded.root, "staging", "AI_LOG_LEVEL", "debug")
    assert cli("get", "staging", "AI_LOG_LEVEL").stdout == "info\n"  # readers see the last complete state
    verify = cli("ledger", "verify", "--json")
    assert verify.exit_code == 1
    kinds = {f["kind"] for f in json.loads(verify.stdout)["findings"]}
    assert kinds == {"crash"}, verify.stdout
    assert cli("set", "staging", "ALLTKN_DEFAULT_MODEL", "deepseek-reasoner").exit_code == 0
    assert cli("get", "staging", "AI_LOG_LEVEL").stdout == "debug\n"  # rolled forward by the next writer
    assert cli("get", "staging", "ALLTKN_DEFAULT_MODEL").stdout == "deepseek-reasoner\n"
    assert json.loads(cli("show", "staging", "--json").stdout)["version"] == 3
    assert cli("ledger", "verify").exit_code == 0


def test_repair_completes_an_interrupted_write(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """`envman repair` brings the profile to the committed version and rebuilds the head, saying so."""
    _set_killed_after_commit(seeded.root, "production", "AI_LOG_LEVEL", "warn")
    verify = cli("ledger", "verify")
    assert verify.exit_code == 1 and "a write was interrupted" in verify.stdout
    repaired = json.loads(cli("repair", "--json").stdout)["actions"]
    assert repaired == ["production: restored environments/production.toml to version 2",
                        "rebuilt environments/ledger.head from 4 ledger entries"]
    assert cli("get", "production", "AI_LOG_LEVEL").stdout == "warn\n"
    assert cli("ledger", "verify").exit_code == 0


def _tear_ledger(root: Path) -> bytes:
    torn = b'{"prev":"' + b"a" * 64 + b'","seq":4,"time":"2026'
    path = root / "environments" / "ledger.jsonl"
    path.write_bytes(path.read_bytes() + torn)
    return torn


def test_torn_last_ledger_line(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """A partial last line is reported as an interrupted write; the next writer truncates it and continues the chain."""
    torn = _tear_ledger(seeded.root)
    assert cli("history", "--json").exit_code == 0  # readers skip the partial line
    verify = cli("ledger", "verify", "--json")
    assert verify.exit_code == 1
    findings = json.loads(verify.stdout)["findings"]
    assert [(f["kind"], "partial line" in f["message"]) for f in findings] == [("crash", True)]
    assert cli("set", "test", "AI_LOG_LEVEL", "info").exit_code == 0
    ledger = (seeded.root / "environments" / "ledger.jsonl").read_bytes()
    assert torn not in ledger and ledger.endswith(b"\n") and len(ledger.splitlines()) == 4
    assert cli("ledger", "verify").exit_code == 0


def test_repair_removes_a_torn_line_and_uncommitted_version_files(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """A writer killed before its commit point leaves a version file and maybe half a line: repair removes both."""
    _tear_ledger(seeded.root)
    orphan = seeded.root / "environments" / "versions" / "test" / "000002.toml"
    orphan.write_bytes((seeded.root / "environments" / "test.toml").read_bytes())
    verify = json.loads(cli("ledger", "verify", "--json").stdout)
    assert {f["kind"] for f in verify["findings"]} == {"crash"} and len(verify["findings"]) == 2
    text = cli("ledger", "verify").stdout
    assert "interrupted" in text and "envman repair" in text
    actions = json.loads(cli("repair", "--json").stdout)["actions"]
    assert actions == ["removed a partial last ledger line left by an interrupted write", "test: removed uncommitted version files"]
    assert not orphan.exists()
    assert cli("ledger", "verify").exit_code == 0
    assert cli("repair").stdout.startswith("nothing to repair")


def test_repair_refuses_to_paper_over_tampering(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """An edited ledger entry is not 'repaired': repair refuses with exit 2 and names what to restore."""
    path = seeded.root / "environments" / "ledger.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"actor":"tester"', b'"actor":"mallory"')
    path.write_bytes(b"".join(lines))
    before = seeded.snapshot()
    assert_refused(cli("repair"), "cannot repair", "ledger.jsonl from git")
    assert seeded.snapshot() == before
    verify = cli("ledger", "verify", "--json")
    assert verify.exit_code == 1 and json.loads(verify.stdout)["chain"] is not None
