"""rekey: a new key pair for an environment, every secret sealed for it, old versions still readable with the retired key."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from envman.diff import diff_profiles
from envman.errors import ConflictError, KeyUnavailable, UsageError
from envman.keys import read_keys_file
from envman.lifecycle import apply_rollback, mark_good, plan_rollback, rotate, undo_rotation
from envman.ops import Project, set_var
from envman.rekey import apply_rekey, plan_rekey
from tests.helpers import assert_refused

KEY = "ALLTKN_API_KEY"
PRIVATE = "ENVMAN_PRIVATE_KEY_PRODUCTION"
RETIRED = "ENVMAN_RETIRED_KEYS_PRODUCTION"


def _plaintexts(p: Project, profile: Any) -> dict[str, str]:
    """Every secret and rollback value of ``profile`` in plaintext (name, or name + '.rollback')."""
    out = {name: p.reveal(profile.env, name, rec).reveal() for name, rec in profile.secrets.items()}
    out.update({f"{name}.rollback": p.reveal(profile.env, name, m.rollback).reveal() for name, m in profile.meta.items() if m.rollback})
    return out


def _only_keys(monkeypatch: pytest.MonkeyPatch, current: str, retired: str | None = None) -> Project:
    """A project opened with production's key from the environment only (and retired keys, if given)."""
    monkeypatch.delenv("ENVMAN_KEYS_FILE", raising=False)
    monkeypatch.setenv(PRIVATE, current)
    if retired is None:
        monkeypatch.delenv(RETIRED, raising=False)
    else:
        monkeypatch.setenv(RETIRED, retired)
    return Project.open()


def test_rekey_seals_every_secret_for_a_new_key_and_keeps_the_values(live: Any, prod_key: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    p = live.open()
    before = p.store.current("production")
    plain = _plaintexts(p, before)
    assert plain[KEY] == prod_key and f"{KEY}.rollback" in plain
    old_private, old_public = live.private_key("production"), p.manifest.public_key("production")
    untouched = live.snapshot()

    plan = plan_rekey(p, "production")
    assert (plan.secrets, plan.rollbacks, plan.version) == (1, 1, before.version)
    assert plan.place == str(live.keys_file) and plan.old_public == old_public != plan.new_public
    assert old_private not in repr(plan) and plan.new_private.reveal() not in repr(plan)
    assert live.snapshot() == untouched, "a plan writes nothing"

    change = apply_rekey(p, plan)
    after = p.store.current("production")
    assert after.version == before.version + 1 == change.entry.version
    assert diff_profiles(before, after).empty, "the values are the same"
    assert after.values == before.values
    assert all(after.secrets[n].ciphertext != r.ciphertext for n, r in before.secrets.items())
    assert {n: (r.masked, r.fingerprint) for n, r in after.secrets.items()} == {n: (r.masked, r.fingerprint) for n, r in before.secrets.items()}
    assert Project.open().manifest.public_key("production") == plan.new_public == p.manifest.public_key("production")
    entry = change.entry
    assert entry.event == "rekey" and entry.changed == () and entry.detail["public_key"] == plan.new_public
    assert entry.detail["replaced"] == old_public and p.store.head().keyed == {"production": [after.version]}
    assert p.store._scan_head() == p.store.head(), "the head's rekey index is rebuilt from the ledger alike"

    keys = read_keys_file(live.keys_file)
    new_private = keys[PRIVATE]
    assert new_private == plan.new_private.reveal() != old_private and keys[RETIRED] == old_private
    assert stat.S_IMODE(live.keys_file.stat().st_mode) == 0o600
    for name in ("envman.toml", "environments/ledger.jsonl"):
        text = (live.root / name).read_text()
        assert new_private not in text and old_private not in text and prod_key not in text

    # the new key alone reads the current version, secrets and rollback values
    fresh = _only_keys(monkeypatch, new_private)
    assert _plaintexts(fresh, fresh.store.current("production")) == plain
    # ...but not a version sealed before, which names the rekey and the way to give the retired key
    with pytest.raises(KeyUnavailable, match=f"earlier key pair of production.*{RETIRED}"):
        _plaintexts(fresh, fresh.store.version("production", before.version))
    # with the retired key it does
    fresh = _only_keys(monkeypatch, new_private, retired=old_private)
    assert _plaintexts(fresh, fresh.store.version("production", before.version)) == plain
    # the old key alone is refused as the wrong key, naming the rekey
    with pytest.raises(KeyUnavailable, match="replaced by `envman rekey` at version"):
        _only_keys(monkeypatch, old_private).decryptor("production")


def test_the_current_key_alone_never_asks_for_retired_keys(live: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retired keys are looked up only when the current key does not open a value."""
    import envman.keys

    p = live.open()
    apply_rekey(p, plan_rekey(p, "production"))
    asked: list[str] = []
    real = envman.keys.retired_keys
    monkeypatch.setattr(envman.keys, "retired_keys", lambda project, env: asked.append(env) or real(project, env))
    fresh = Project.open()
    _plaintexts(fresh, fresh.store.current("production"))
    assert asked == []
    _plaintexts(fresh, fresh.store.version("production", 1))
    assert asked == ["production"]


def test_rollback_across_a_rekey_seals_the_restored_secrets_for_the_current_key(live: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    p = live.open()
    good = mark_good(p, "production").entry.version
    stable = p.store.version("production", good)
    plain = _plaintexts(p, stable)
    old_private = live.private_key("production")
    apply_rekey(p, plan_rekey(p, "production"))
    rotate(p, "production", KEY, "sk-prod-badbadbadbadbadbad9999")
    new_private = live.private_key("production")

    # without the retired key the rollback cannot seal the old secrets again: refused, nothing written
    fresh = _only_keys(monkeypatch, new_private)
    untouched = live.snapshot()
    with pytest.raises(KeyUnavailable, match=f"version {good} of production is sealed for the key pair `envman rekey` replaced"):
        plan_rollback(fresh, "production")
    assert live.snapshot() == untouched

    fresh = _only_keys(monkeypatch, new_private, retired=old_private)
    change = apply_rollback(fresh, plan_rollback(fresh, "production"))
    restored = p.store.current("production")
    assert change.profile.version == restored.version and restored.values == stable.values
    assert all(restored.secrets[n].ciphertext != r.ciphertext for n, r in stable.secrets.items())
    assert _plaintexts(_only_keys(monkeypatch, new_private), restored) == plain, "readable with the new key alone"


def test_undo_rotation_after_a_rekey_restores_a_value_the_new_key_opens(live: Any, prod_key: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    p = live.open()
    rollback_value = _plaintexts(p, p.store.current("production"))[f"{KEY}.rollback"]
    apply_rekey(p, plan_rekey(p, "production"))
    undo_rotation(p, "production", KEY)
    fresh = _only_keys(monkeypatch, live.private_key("production"))
    now = fresh.store.current("production")
    assert fresh.reveal("production", KEY, now.secrets[KEY]).reveal() == rollback_value
    assert fresh.reveal("production", KEY, now.meta[KEY].rollback).reveal() == prod_key  # type: ignore[arg-type]


def test_rekey_refuses_a_change_made_after_its_plan(live: Any) -> None:
    p = live.open()
    plan = plan_rekey(p, "production")
    set_var(p, "production", "AI_LOG_LEVEL", "warn")
    untouched = (live.root / "envman.toml").read_bytes(), p.store.current("production")
    with pytest.raises(ConflictError, match="production changed while the plan was being made"):
        apply_rekey(p, plan)
    assert ((live.root / "envman.toml").read_bytes(), p.store.current("production")) == untouched


def test_a_key_from_the_environment_needs_a_keys_file_to_receive_the_new_one(live: Any, monkeypatch: pytest.MonkeyPatch,
                                                                              tmp_path: Path, cli: Any) -> None:
    old_private = live.private_key("production")
    p = _only_keys(monkeypatch, old_private)
    untouched = live.snapshot()
    with pytest.raises(UsageError, match=f"comes from {PRIVATE}, which envman cannot change.*--keys-file"):
        plan_rekey(p, "production")
    assert_refused(cli("rekey", "production", "--yes"), PRIVATE, "--keys-file")
    assert live.snapshot() == untouched

    for own in ("envman.toml", "environments/production.toml", "environments/new-key"):
        assert_refused(cli("rekey", "production", "--keys-file", own, "--yes"), "is one of envman's own files")
    assert live.snapshot() == untouched

    target = tmp_path / "secure" / "new-production-key"
    done = cli("rekey", "production", "--keys-file", str(target), "--yes")
    assert done.exit_code == 0, done.output
    assert f"the new key is in {target}" in done.stdout
    keys = read_keys_file(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and keys[RETIRED] == old_private
    assert keys[PRIVATE] not in done.output and old_private not in done.output
    assert not (live.root / ".gitignore").exists() or "new-production-key" not in (live.root / ".gitignore").read_text()

    inside = cli("rekey", "production", "--keys-file", "secrets/prod.keys", "--yes", env={PRIVATE: keys[PRIVATE]})
    assert inside.exit_code == 0, inside.output
    assert "secrets/prod.keys" in (live.root / ".gitignore").read_text().splitlines(), "a keys file in the project is git-ignored"
    assert stat.S_IMODE((live.root / "secrets" / "prod.keys").stat().st_mode) == 0o600
    fresh = _only_keys(monkeypatch, read_keys_file(live.root / "secrets" / "prod.keys")[PRIVATE])
    assert fresh.reveal("production", KEY, fresh.store.current("production").secrets[KEY]).reveal()


def test_an_interrupted_rekey_is_completed_by_the_next_writer(live: Any, prod_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after the ledger entry, before envman.toml got the new key: nothing is lost, the next write completes it."""
    import envman.manifest

    class Killed(BaseException):
        pass

    def killed(*args: object) -> bool:
        raise Killed

    p = live.open()
    plan = plan_rekey(p, "production")
    monkeypatch.setattr(envman.manifest, "set_public_key", killed)
    with pytest.raises(Killed):
        apply_rekey(p, plan)
    monkeypatch.undo()
    monkeypatch.chdir(live.root)
    monkeypatch.setenv("ENVMAN_KEYS_FILE", str(live.keys_file))
    keys = read_keys_file(live.keys_file)
    assert keys[PRIVATE] == plan.old_private.reveal(), "the new key is not the current key yet..."
    assert plan.new_private.reveal() in keys[RETIRED].split(","), "...but it is kept"
    # the rekeyed version is readable before anything is completed (its key is among the retired ones)
    assert Project.open().reveal("production", KEY, Project.open().store.current("production").secrets[KEY]).reveal() == prod_key

    with pytest.raises(ConflictError, match="interrupted `envman rekey` of production was completed"):
        set_var(Project.open(), "production", "AI_LOG_LEVEL", "warn")
    q = Project.open()
    assert q.manifest.public_key("production") == plan.new_public
    set_var(q, "production", "AI_LOG_LEVEL", "warn")  # re-run: goes through
    assert q.reveal("production", KEY, q.store.current("production").secrets[KEY]).reveal() == prod_key


def test_repair_gives_envman_toml_the_key_of_the_last_rekey(live: Any, cli: Any) -> None:
    p = live.open()
    manifest = live.root / "envman.toml"
    old = manifest.read_text()
    plan = plan_rekey(p, "production")
    apply_rekey(p, plan)
    manifest.write_text(old)  # e.g. a merge that kept the old [keys]
    done = cli("repair")
    assert done.exit_code == 0 and "production: envman.toml given the public key of its rekey" in done.stdout
    assert Project.open().manifest.public_key("production") == plan.new_public


def test_scan_without_the_retired_key_still_runs(live: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A value held only by versions sealed for the replaced key is matched without plaintext when that key is missing."""
    from envman.known import known_secrets

    p = live.open()
    old_private = live.private_key("production")
    apply_rekey(p, plan_rekey(p, "production"))
    rotate(p, "production", KEY, "sk-prod-ffffffffffffffff6666")
    rotate(p, "production", KEY, "sk-prod-gggggggggggggggg7777")
    new_private = live.private_key("production")
    found, keyless = known_secrets(_only_keys(monkeypatch, new_private))
    assert "production" in keyless  # (test and staging: no key given at all)
    prod = {s.masked: s.plaintext for s in found if s.env == "production"}
    assert None in prod.values() and "sk-prod-gggggggggggggggg7777" in prod.values()
    found, keyless = known_secrets(_only_keys(monkeypatch, new_private, retired=old_private))
    assert "production" not in keyless and None not in {s.plaintext for s in found if s.env == "production"}


def test_rekey_through_the_cli(live: Any, cli: Any, envman: Any, prod_key: str) -> None:
    dry = cli("rekey", "production", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "1 secret(s) and 1 rollback value(s) sealed for the new key" in dry.stdout and "dry run: nothing was changed" in dry.stdout
    assert_refused(cli("rekey", "production"), "no terminal to confirm on", "--yes")
    assert_refused(cli("rekey", "nowhere", "--yes"), "unknown environment 'nowhere'")
    assert_refused(cli("rekey", "production", "--keys-file", str(live.root), "--yes"), "is a folder")

    done = cli("rekey", "production", "--yes", "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["applied"] and out["result"]["event"] == "rekey" and out["plan"]["secrets"] == 1
    assert live.private_key("production") not in done.output

    # the installed executable: rekey again, then the value still reads back
    env = {"ENVMAN_KEYS_FILE": str(live.keys_file)}
    again = envman("rekey", "production", "--yes", cwd=live.root, env=env)
    assert again.exit_code == 0, again.output
    assert "production: version" in again.stdout and live.private_key("production") not in again.output
    got = envman("get", "production", KEY, "--reveal", cwd=live.root, env=env)
    assert got.stdout == prod_key + "\n"
    history = envman("history", "production", "--event", "rekey", "--json", cwd=live.root, env=env)
    assert [e["event"] for e in json.loads(history.stdout)] == ["rekey", "rekey"]
    assert len(read_keys_file(live.keys_file)[RETIRED].split(",")) == 2
    assert os.environ.get(PRIVATE) is None


def test_a_symlinked_keys_file_stays_a_symlink(live: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = tmp_path / "vault" / "keys.env"
    vault.parent.mkdir()
    live.keys_file.rename(vault)
    live.keys_file.symlink_to(vault)
    p = live.open()
    plan = plan_rekey(p, "production")
    apply_rekey(p, plan)
    assert live.keys_file.is_symlink() and read_keys_file(vault)[PRIVATE] == plan.new_private.reveal()
    assert stat.S_IMODE(vault.stat().st_mode) == 0o600
