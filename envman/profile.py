"""One environment's values at one version (pure data), and its TOML form."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from envman.errors import TamperError
from envman.schema import VAR_NAME

FORMAT = 1


@dataclass(frozen=True)
class SecretRecord:
    """A secret as stored: ciphertext plus what may be shown without the key."""

    ciphertext: str = field(repr=False)
    masked: str
    fingerprint: str

    def as_dict(self) -> dict[str, str]:
        return {"ciphertext": self.ciphertext, "masked": self.masked, "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class VarMeta:
    """Per-environment ownership and rotation facts of one variable."""

    owner: str = ""
    rotation_method: str = ""
    rotation_days: int = 0
    rotated_at: str = ""  # UTC ISO time of the last rotation (or first set)
    note: str = ""
    rollback: SecretRecord | None = None  # the value before the last rotation

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("owner", "rotation_method", "rotation_days", "rotated_at", "note"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.rollback is not None:
            out["rollback"] = self.rollback.as_dict()
        return out


@dataclass(frozen=True)
class Profile:
    """The full set of values of one environment at one version."""

    project: str
    env: str
    version: int
    values: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, SecretRecord] = field(default_factory=dict)
    meta: dict[str, VarMeta] = field(default_factory=dict)
    ledger_seq: int = 0  # the ledger entry that created this version
    ledger_hash: str = ""

    def names(self) -> list[str]:
        return sorted({*self.values, *self.secrets})

    def has(self, var: str) -> bool:
        return var in self.values or var in self.secrets

    def body(self) -> dict[str, Any]:
        """Everything that defines the set, without the ledger pointer (which is derived from it)."""
        return {
            "format": FORMAT,
            "project": self.project,
            "environment": self.env,
            "version": self.version,
            "values": dict(sorted(self.values.items())),
            "secrets": {k: v.as_dict() for k, v in sorted(self.secrets.items())},
            "meta": {k: d for k, m in sorted(self.meta.items()) if (d := m.as_dict())},
        }

    def content_hash(self) -> str:
        """SHA-256 of the canonical body; recorded in the ledger entry that made this version."""
        from envman.crypto import sha256_hex

        canon = json.dumps(self.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return sha256_hex(canon.encode("ascii"))

    def values_hash(self) -> str:
        """Hash of the values only (plain values and ciphertext fingerprints), for "same set" checks."""
        from envman.crypto import sha256_hex

        data = {"values": self.values, "secrets": {k: v.fingerprint for k, v in self.secrets.items()}}
        return sha256_hex(json.dumps(data, sort_keys=True, ensure_ascii=True).encode("ascii"))

    def with_changes(self, **kwargs: Any) -> Profile:
        return replace(self, **kwargs)

    def to_toml(self) -> bytes:
        """The profile file: the body plus the ledger pointer."""
        import tomli_w

        doc = self.body()
        doc["ledger"] = {"seq": self.ledger_seq, "hash": self.ledger_hash}
        head = "# Written by envman: change it with envman commands. Hand edits are detected by `envman check`.\n"
        return (head + tomli_w.dumps(doc)).encode("utf-8")


def _bad(where: str, what: str) -> TamperError:
    return TamperError(f"{where} is malformed: {what}", "restore it from git or run `envman repair`")


def _secret(where: str, raw: object) -> SecretRecord:
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("ciphertext", "masked", "fingerprint")):
        raise _bad(where, "a secret needs ciphertext, masked and fingerprint strings")
    return SecretRecord(raw["ciphertext"], raw["masked"], raw["fingerprint"])


def profile_from_mapping(where: str, data: dict[str, Any]) -> Profile:
    """Validate a parsed profile mapping; every malformation names the file."""
    if data.get("format") != FORMAT:
        raise _bad(where, f"unknown format {data.get('format')!r}")
    project, env, version = data.get("project"), data.get("environment"), data.get("version")
    if not isinstance(project, str) or not isinstance(env, str):
        raise _bad(where, "project and environment must be strings")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise _bad(where, "version must be a whole number")
    values, secrets, meta = data.get("values", {}), data.get("secrets", {}), data.get("meta", {})
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise _bad(where, "[values] must hold strings")
    if not isinstance(secrets, dict) or not isinstance(meta, dict):
        raise _bad(where, "[secrets] and [meta] must be tables")
    for name in (*values, *secrets, *meta):
        if not VAR_NAME.match(name):
            raise _bad(where, f"invalid variable name {name!r}")
    metas: dict[str, VarMeta] = {}
    for name, raw in meta.items():
        if not isinstance(raw, dict):
            raise _bad(where, f"[meta.{name}] must be a table")
        strings = {k: raw.get(k, "") for k in ("owner", "rotation_method", "rotated_at", "note")}
        days = raw.get("rotation_days", 0)
        if not all(isinstance(v, str) for v in strings.values()) or not isinstance(days, int) or isinstance(days, bool):
            raise _bad(where, f"[meta.{name}] has a field of the wrong type")
        rollback = _secret(where, raw["rollback"]) if "rollback" in raw else None
        metas[name] = VarMeta(rotation_days=days, rollback=rollback, **strings)
    ledger = data.get("ledger", {})
    if not isinstance(ledger, dict) or not isinstance(ledger.get("seq", 0), int) or not isinstance(ledger.get("hash", ""), str):
        raise _bad(where, "[ledger] must hold seq and hash")
    return Profile(
        project=project,
        env=env,
        version=version,
        values=dict(values),
        secrets={k: _secret(where, v) for k, v in secrets.items()},
        meta=metas,
        ledger_seq=ledger.get("seq", 0),
        ledger_hash=ledger.get("hash", ""),
    )


def profile_from_toml(where: str, raw: bytes) -> Profile:
    """Parse a profile file's bytes."""
    import tomllib

    if raw.startswith(b"\xef\xbb\xbf"):
        raise _bad(where, "it starts with a byte-order mark")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _bad(where, f"not valid UTF-8 TOML ({type(exc).__name__})") from None
    return profile_from_mapping(where, data)


def empty_profile(project: str, env: str) -> Profile:
    """Version 0: an environment with no values yet."""
    return Profile(project=project, env=env, version=0)
