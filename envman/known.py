"""Every secret the project holds or held: the input of `envman scan` and the redaction filter.

Reads every version of every environment (scan is the one command whose cost
grows with history: it must find past keys too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envman.errors import KeyUnavailable, RetiredKeyMissing

if TYPE_CHECKING:
    from envman.ops import Project
    from envman.profile import SecretRecord
    from envman.scan import KnownSecret


def known_secrets(project: Project, *, use_keys: bool = True) -> tuple[list[KnownSecret], list[str]]:
    """(secrets, environments whose key was unavailable): one entry per distinct value per variable.

    A value is named by the newest version that holds it; ``current`` tells
    whether the environment still uses it (so the user knows to rotate it).
    """
    from envman.scan import KnownSecret

    found: list[KnownSecret] = []
    keyless: list[str] = []
    store = project.store
    for env in project.manifest.environments:
        current = store.current(env)
        # fingerprint -> (var, newest version, ciphertext), newest first
        seen: dict[tuple[str, str], tuple[int, str, str]] = {}
        rollbacks: list[tuple[int, str, SecretRecord]] = []
        for number in range(current.version, 0, -1):
            profile = current if number == current.version else store.version(env, number)
            for var, rec in profile.secrets.items():
                seen.setdefault((var, rec.fingerprint), (number, rec.masked, rec.ciphertext))
            rollbacks += [(number, var, m.rollback) for var, m in profile.meta.items() if m.rollback is not None]
        # a rollback value is normally an older active value; keep it only if never seen active
        for number, var, rec in rollbacks:
            seen.setdefault((var, rec.fingerprint), (number, rec.masked, rec.ciphertext))
        decrypt = None
        if use_keys and seen:
            try:
                decrypt = project.decryptor(env)
            except KeyUnavailable:
                keyless.append(env)
        for (var, fp), (number, masked, ciphertext) in seen.items():
            is_current = var in current.secrets and current.secrets[var].fingerprint == fp
            plaintext = None
            if decrypt is not None:
                try:
                    plaintext = decrypt.decrypt(var, ciphertext).reveal()
                except RetiredKeyMissing:  # sealed for a key pair `envman rekey` replaced, whose key is not here
                    if env not in keyless:
                        keyless.append(env)
            found.append(KnownSecret(env, var, current.version if is_current else number, is_current, masked, fp, plaintext))
    return found, keyless
