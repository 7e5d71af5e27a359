"""Replacing an environment's key pair: `envman rekey ENV`.

The answer to a private key that leaked or left with someone: a new X25519 key
pair, every secret of the current version (and every rollback value) sealed for
the new public key as a new version, envman.toml given the new public key. The
values do not change (same fingerprints), so diff and check see no difference.

Older versions stay as they were written, sealed for the old key: it is kept as a
*retired* key of the environment (keychain entry ``<project>/<env>#retired``, or
``ENVMAN_RETIRED_KEYS_<ENV>`` in a keys file or the environment), and a value the
current key does not open is tried with the retired ones. A rollback to a version
written before the rekey seals its secrets for the current key again.

The writes are ordered so that no crash can lose a key or leave a value that no
key opens:

1. the old key and the new one are added to the retired keys where the key lives;
2. the new version is committed with its ledger entry (the commit point), and
   envman.toml gets the new public key (rolled forward by the next writer if a
   crash comes between the two);
3. the new key becomes the environment's key; the old one stays retired.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envman.errors import EnvmanError, KeyUnavailable, UsageError
from envman.ops import Change, Project
from envman.records import Record

if TYPE_CHECKING:
    from envman.crypto import Decryptor, Encryptor, Secret
    from envman.profile import Profile


class RekeyPlan(Record):
    """What ``rekey ENV`` would write: version ``version``'s values sealed for ``new_public``."""

    env: str
    version: int
    secrets: int  # secret values re-sealed
    rollbacks: int  # rollback values re-sealed
    old_public: str
    new_public: str
    place: str  # where the keys are kept: keys.KEYCHAIN or a keys file path
    draft: Profile
    old_private: Secret
    new_private: Secret

    @property
    def new_version(self) -> int:
        return self.version + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.env, "from_version": self.version, "new_version": self.new_version,
            "secrets": self.secrets, "rollback_values": self.rollbacks,
            "old_public_key": self.old_public, "new_public_key": self.new_public, "keys_kept_in": self.place,
        }


def key_id(public: str) -> str:
    """A public key shortened for people: ``envman-pk1:AbCdEfGh…``."""
    return public.strip()[:19] + "…"


def resealed(profile: Profile, decrypt: Decryptor, encrypt: Encryptor) -> tuple[Profile, int, int]:
    """``profile`` with every secret and rollback value sealed again by ``encrypt``; and how many of each."""
    def again(var: str, record: Any) -> Any:
        return record._replace(ciphertext=encrypt.encrypt(var, decrypt.decrypt(var, record.ciphertext).reveal()))

    secrets = {name: again(name, record) for name, record in profile.secrets_by_name()}
    meta = {name: m if m.rollback is None else m._replace(rollback=again(name, m.rollback)) for name, m in profile.meta.items()}
    rollbacks = sum(m.rollback is not None for m in meta.values())
    return profile._replace(secrets=secrets, meta=meta), len(secrets), rollbacks


def _key_place(project: Project, env: str, source: str, keys_file: Path | None) -> str:
    """Where the new key goes: ``keys_file``, else where the current one came from, if envman can write there."""
    from envman.keys import KEYCHAIN, KEYS_FILE_VAR, env_var_name

    if keys_file is not None:
        path = keys_file.resolve()
        if path == project.manifest.path.resolve() or path.is_relative_to(project.manifest.data_dir.resolve()):
            raise UsageError(f"--keys-file {keys_file} is one of envman's own files", "keep private keys outside envman.toml and environments/")
        return str(path)
    if source == KEYCHAIN:
        return KEYCHAIN
    if source == env_var_name(env):
        raise UsageError(
            f"the private key of {env!r} comes from {env_var_name(env)}, which envman cannot change",
            "give --keys-file PATH to receive the new key pair, then put the new key where that variable is set",
        )
    return str(Path(os.environ[KEYS_FILE_VAR]).resolve())


def _keep_out_of_git(project: Project, place: str) -> None:
    """A keys file inside the project goes into .gitignore, as `envman init` does with its own."""
    from envman.keys import KEYCHAIN
    from envman.ops import gitignore

    root = project.manifest.root.resolve()
    if place != KEYCHAIN and Path(place).is_relative_to(root):
        gitignore(root, Path(place).relative_to(root).as_posix())


def plan_rekey(project: Project, env: str, *, keys_file: Path | None = None) -> RekeyPlan:
    """Plan a new key pair for ``env``: decrypts every secret of its current version (needs its private key)."""
    from envman.crypto import Encryptor, Secret, generate_keypair

    project.manifest.require_env(env)
    if keys_file is not None and keys_file.is_dir():
        raise UsageError(f"--keys-file {keys_file} is a folder", "name a file, e.g. --keys-file ~/.envman/keys")
    old_public = project.manifest.public_key(env)
    current = project.store.current(env)
    decrypt = project.decryptor(env)  # refuses a missing or wrong key before anything else
    old_private, source = project.private_key(env)
    place = _key_place(project, env, source, keys_file)
    new_public, new_private = generate_keypair()
    draft, secrets, rollbacks = resealed(current, decrypt, Encryptor(project.manifest.project, env, new_public))
    return RekeyPlan(env, current.version, secrets, rollbacks, old_public, new_public, place, draft._replace(version=current.version + 1),
                     Secret(old_private), Secret(new_private))


def apply_rekey(project: Project, plan: RekeyPlan) -> Change:
    """Write a rekey plan (see the module docstring for the order), if ``env`` did not change since it was made."""
    from envman.keys import save_keys
    from envman.lifecycle import _conflict
    from envman.manifest import set_public_key

    env = plan.env
    old, new = plan.old_private.reveal(), plan.new_private.reveal()
    _keep_out_of_git(project, plan.place)  # before the file exists, so no key ever sits in it unignored
    save_keys(project.manifest.project, env, plan.place, add=[old, new])
    detail = {
        "public_key": plan.new_public, "replaced": plan.old_public, "secrets": plan.secrets, "rollback_values": plan.rollbacks,
        "summary": f"rekey {env}: new key pair {key_id(plan.new_public)}, {plan.secrets} secret(s) sealed for it",
    }
    with project.store.transaction() as txn:
        if txn.current(env).version != plan.version:
            raise _conflict(env)
        profile, entry = txn.commit(plan.draft, "rekey", changed=[], keys={}, detail=detail)
        set_public_key(project.manifest.root, env, plan.new_public)  # a file store did it before its head moved
    project.forget_keys(env, plan.new_public)
    try:
        save_keys(project.manifest.project, env, plan.place, current=new, drop=[new])
    except EnvmanError as exc:
        raise KeyUnavailable(
            f"{env} was rekeyed (version {entry.version}), but its new key could not be made its current key: {exc.message}",
            f"nothing is lost: the new key is kept among the retired keys in {plan.place}; {exc.hint}",
        ) from None
    return Change(profile, entry)
