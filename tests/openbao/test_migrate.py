"""`envman backend migrate`: files ⇄ OpenBao copies every version and the ledger exactly, verified before the switch."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

from envman.profile import profile_from_toml
from envman.store.openbao import profile_doc
from tests.openbao.conftest import unique_prefix


def _backend(root: Path) -> dict[str, Any]:
    return dict(tomllib.loads((root / "envman.toml").read_text())["backend"])


def _kv_ledger(kv: Any, prefix: str) -> list[str]:
    keys = sorted(kv.list_secrets(path=f"{prefix}/ledger", mount_point="secret")["data"]["keys"])
    return [kv.read_secret_version(path=f"{prefix}/ledger/{k}", mount_point="secret", raise_on_deleted_version=True)["data"]["data"]["line"]
            for k in keys]


def _kv_version(kv: Any, prefix: str, env: str, number: int) -> dict[str, Any]:
    data: dict[str, Any] = kv.read_secret_version(path=f"{prefix}/profiles/{env}", version=number, mount_point="secret",
                                                  raise_on_deleted_version=True)["data"]["data"]
    return data


def _version_files(root: Path) -> dict[str, bytes]:
    folder = root / "environments" / "versions"
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.toml"))}


def _history(cli) -> None:  # type: ignore[no-untyped-def]
    """A few more events of every kind on top of the seeded imports."""
    assert cli("set", "test", "AI_LOG_LEVEL", "warning").exit_code == 0
    assert cli("mark-good", "test").exit_code == 0
    assert cli("set", "staging", "ALLTKN_API_KEY", input="sk-stag-dddddddddddddddd4444").exit_code == 0
    assert cli("unset", "production", "AI_LOG_LEVEL").exit_code == 0


def test_round_trip_files_to_openbao_to_files_is_exact(seeded, bao_env, cli) -> None:  # type: ignore[no-untyped-def]
    """files → OpenBao → files: identical ledger lines, every version byte-identical, versions added on OpenBao come back."""
    _history(cli)
    root, prefix = seeded.root, unique_prefix()
    ledger = (root / "environments" / "ledger.jsonl").read_bytes()
    versions = _version_files(root)
    r = cli("backend", "migrate", "--to", "openbao", "--address", bao_env.address, "--prefix", prefix)
    assert r.exit_code == 0, r.output
    assert "verified 7 entries and 6 versions" in r.stdout
    assert _backend(root) == {"type": "openbao", "address": bao_env.address, "mount": "secret", "prefix": prefix}
    kv = bao_env.client().secrets.kv.v2
    assert "\n".join(_kv_ledger(kv, prefix)) + "\n" == ledger.decode()
    for name, data in versions.items():
        env, number = name.split("/")[0], int(name.split("/")[1][:-5])
        assert _kv_version(kv, prefix, env, number) == profile_doc(profile_from_toml(name, data))
    # life goes on in OpenBao, then everything comes back to an empty folder
    assert cli("set", "test", "AI_REQUEST_TIMEOUT_MS", "30000").exit_code == 0
    assert cli("ledger", "verify").exit_code == 0
    shutil.move(root / "environments", root / "environments.before")
    r = cli("backend", "migrate", "--to", "files")
    assert r.exit_code == 0, r.output
    assert _backend(root) == {"type": "files"}
    after = (root / "environments" / "ledger.jsonl").read_bytes()
    assert after.startswith(ledger) and after.decode() == "\n".join(_kv_ledger(kv, prefix)) + "\n"
    back = _version_files(root)
    assert {k: v for k, v in back.items() if k in versions} == versions
    assert set(back) - set(versions) == {"test/000003.toml"}
    newest = profile_from_toml("v", back["test/000003.toml"])
    assert profile_doc(newest) == _kv_version(kv, prefix, "test", 3)
    assert json.loads(cli("ledger", "verify", "--json").stdout) == {"entries": 8, "chain": None, "findings": []}
    assert cli("get", "test", "AI_REQUEST_TIMEOUT_MS").stdout == "30000\n"
    assert (root / "environments" / "ledger.head").exists()


def test_migrating_back_completes_the_copy_left_in_environments(seeded, bao_env, cli) -> None:  # type: ignore[no-untyped-def]
    """The files left behind by a migration to OpenBao are an earlier copy: migrating back appends only what is new."""
    _history(cli)
    root = seeded.root
    before = {p: (root / "environments" / p).read_bytes() for p in ("ledger.jsonl", "versions/test/000002.toml")}
    assert cli("backend", "migrate", "--to", "openbao", "--address", bao_env.address, "--prefix", unique_prefix()).exit_code == 0
    assert cli("set", "production", "AI_LOG_LEVEL", "warning").exit_code == 0
    r = cli("backend", "migrate", "--to", "files")
    assert r.exit_code == 0 and "already held the first 7 entries" in r.stderr and "copied 1 ledger entries" in r.stdout, r.output
    assert (root / "environments" / "versions/test/000002.toml").read_bytes() == before["versions/test/000002.toml"]
    assert (root / "environments" / "ledger.jsonl").read_bytes().startswith(before["ledger.jsonl"])
    assert cli("get", "production", "AI_LOG_LEVEL").stdout == "warning\n"
    assert cli("ledger", "verify").exit_code == 0


def test_openbao_to_openbao_under_another_prefix(bao_seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """Moving between prefixes of the same server copies and verifies the same way."""
    new = unique_prefix()
    r = cli("backend", "migrate", "--to", "openbao", "--prefix", new, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["copied"] == 3 and _backend(bao_seeded.root)["prefix"] == new
    assert _kv_ledger(bao_seeded.kv(), new) == _kv_ledger(bao_seeded.kv(), bao_seeded.prefix)
    assert cli("ledger", "verify").exit_code == 0


def test_target_with_a_different_ledger_is_refused(bao_seeded, cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A prefix that already holds another ledger is never merged into: exit 2, envman.toml and the target untouched."""
    from envman.ops import Project, init_project, set_var

    other = tmp_path / "other"
    other.mkdir()
    init_project(other, project_id="demo-app", keys_file=tmp_path / "other-keys.env")
    monkeypatch.setenv("ENVMAN_KEYS_FILE", str(tmp_path / "other-keys.env"))
    set_var(Project.open(other), "test", "AI_LOG_LEVEL", "info", new_type="log_level")
    monkeypatch.chdir(other)
    manifest = (other / "envman.toml").read_bytes()
    r = cli("backend", "migrate", "--to", "openbao", "--address", bao_seeded.server.address, "--prefix", bao_seeded.prefix)
    assert r.exit_code == 2 and "already holds a different ledger" in r.stderr, r.output
    assert (other / "envman.toml").read_bytes() == manifest
    assert len(_kv_ledger(bao_seeded.kv(), bao_seeded.prefix)) == 3


def test_tampered_source_is_not_migrated(seeded, bao_env, cli) -> None:  # type: ignore[no-untyped-def]
    """A hand-edited version file stops the migration before anything is copied or switched."""
    path = seeded.root / "environments" / "versions" / "test" / "000001.toml"
    path.write_text(path.read_text().replace("debug", "error"))
    manifest = (seeded.root / "envman.toml").read_bytes()
    prefix = unique_prefix()
    r = cli("backend", "migrate", "--to", "openbao", "--address", bao_env.address, "--prefix", prefix)
    assert r.exit_code == 2 and "Traceback" not in r.output and "nothing was copied" in r.stderr, r.output
    assert (seeded.root / "envman.toml").read_bytes() == manifest
    kv = bao_env.client().secrets.kv.v2
    assert _kv_ledger_or_none(kv, prefix) is None


def _kv_ledger_or_none(kv: Any, prefix: str) -> list[str] | None:
    import hvac.exceptions  # type: ignore[import-untyped]

    try:
        return _kv_ledger(kv, prefix)
    except hvac.exceptions.InvalidPath:
        return None


def test_bad_targets_are_refused(seeded, bao_env, cli) -> None:  # type: ignore[no-untyped-def]
    """A prefix escaping the mount, OpenBao options with --to files, or the store already in use: exit 2, nothing done."""
    manifest = (seeded.root / "envman.toml").read_bytes()
    for args, needle in [
        (("--to", "openbao", "--address", bao_env.address, "--prefix", "../../sys"), "not a plain path"),
        (("--to", "openbao", "--address", bao_env.address, "--mount", "secret/../sys"), "not a plain path"),
        (("--to", "files", "--prefix", "x"), "apply to an OpenBao target"),
        (("--to", "files",), "already uses"),
        (("--to", "openbao", "--address", "ftp://example"), "not an http(s) URL"),
    ]:
        r = cli("backend", "migrate", *args)
        assert r.exit_code == 2 and needle in r.stderr and "Traceback" not in r.output, (args, r.output)
    assert (seeded.root / "envman.toml").read_bytes() == manifest
