"""Benchmark workloads: real envman projects of any size, built quickly.

Building a big project through ``envman import`` costs one scrypt fingerprint
(~15 ms) per secret and four fsyncs per version, so 10,000 secrets or 10,000
versions would take minutes. This module builds the same files with envman's
own objects instead:

- fingerprints are computed in a process pool (scrypt holds the GIL);
- the first version goes through a real store transaction (as ``import`` does);
- further versions and ledger entries are written by a fast path that encodes
  them with ``envman.ledger.encode`` and writes without fsync; the head file is
  written through the store, so ``envman ledger verify`` accepts the result.

The yardstick inputs (a plain .env, a dynaconf TOML file, sops- and
dotenvx-encrypted copies) hold exactly the same values.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import shutil
import string
import subprocess
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from envman.crypto import Encryptor, fingerprint, mask
from envman.keys import env_var_name, read_keys_file
from envman.ledger import VERSION_EVENTS, Entry, encode
from envman.ops import Project, init_project
from envman.profile import Profile, SecretRecord, VarMeta
from envman.schema import VarSpec
from envman.store import Head
from envman.store.files import FileStore, now_utc

ENVS = ("test", "staging", "production")
ACTOR = "bench"
# The LLM example of the spec, plus a few more, as a typical small application.
APP_VARS: tuple[tuple[str, str], ...] = (
    ("ALLTKN_API_KEY", "secret"),
    ("ALLTKN_BASE_URL", "url"),
    ("ALLTKN_DEFAULT_MODEL", "model"),
    ("AI_REQUEST_TIMEOUT_MS", "duration_ms"),
    ("AI_LOG_LEVEL", "log_level"),
    ("DATABASE_PASSWORD", "secret"),
    ("SENTRY_TOKEN", "secret"),
    ("APP_REGION", "string"),
    ("APP_WORKERS", "int"),
    ("APP_DEBUG", "bool"),
)
TIMEOUT_VAR = "AI_REQUEST_TIMEOUT_MS"  # the plain variable the version benchmarks change


@dataclass(frozen=True)
class Workload:
    """A generated project and the plaintext it holds."""

    root: Path
    env: str  # the environment every benchmark reads
    values: dict[str, str]  # plaintext of ``env``, by name
    secrets: frozenset[str]
    private_keys: dict[str, str] = field(repr=False)  # ENVMAN_PRIVATE_KEY_<ENV> -> key

    @property
    def keys_file(self) -> Path:
        return self.root / ".envman-keys"

    def key_environ(self) -> dict[str, str]:
        """The environment variable that gives ``env``'s private key (as CI would)."""
        name = env_var_name(self.env)
        return {name: self.private_keys[name]}

    def dotenv_text(self) -> str:
        """The values as a plain .env file (values are quote-free by construction)."""
        return "".join(f"{k}={v}\n" for k, v in sorted(self.values.items()))


# -- values ----------------------------------------------------------------------

def app_values(env: str, rng: random.Random) -> dict[str, str]:
    """Ten realistic values for one environment; secrets differ per environment."""
    def token(prefix: str, n: int) -> str:
        return prefix + "".join(rng.choices(string.ascii_letters + string.digits, k=n))

    return {
        "ALLTKN_API_KEY": token(f"sk-{env[:4]}-", 40),
        "ALLTKN_BASE_URL": "https://api.alltkn.com/api/v1" if env != "test" else "http://127.0.0.1:8080/api/v1",
        "ALLTKN_DEFAULT_MODEL": "deepseek-chat",
        TIMEOUT_VAR: "60000",
        "AI_LOG_LEVEL": "debug" if env == "test" else "info",
        "DATABASE_PASSWORD": token("", 32),
        "SENTRY_TOKEN": token("sntrys_", 48),
        "APP_REGION": "eu-west-1",
        "APP_WORKERS": "4",
        "APP_DEBUG": "false",
    }


def secret_values(count: int, rng: random.Random) -> dict[str, str]:
    """``count`` API-key-like secrets named SVC_00001_API_KEY..."""
    alphabet = string.ascii_letters + string.digits
    return {f"SVC_{i:05d}_API_KEY": "sk-" + "".join(rng.choices(alphabet, k=40)) for i in range(1, count + 1)}


def _fingerprint_pair(args: tuple[str, str]) -> str:
    return fingerprint(*args)


def fingerprints(salt: str, values: Sequence[str], cache: Path | None = None) -> list[str]:
    """Fingerprints of ``values``: from ``cache`` when known, else in a process pool when there are many."""
    known: dict[str, str] = {}
    path = cache / f"fingerprints-{salt}.json" if cache is not None else None
    if path is not None and path.exists():
        known = json.loads(path.read_text(encoding="utf-8"))
    todo = sorted({v for v in values if v not in known})
    if len(todo) < 64:
        known.update((v, fingerprint(salt, v)) for v in todo)
    else:
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            known.update(zip(todo, pool.map(_fingerprint_pair, [(salt, v) for v in todo], chunksize=64), strict=True))
    if path is not None and todo:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(known), encoding="utf-8")
    return [known[v] for v in values]


def bench_salt(seed: int) -> str:
    """A fixed fingerprint salt per seed, so fingerprints can be cached between runs."""
    return base64.urlsafe_b64encode(hashlib.sha256(f"envman-bench-salt-{seed}".encode()).digest()[:16]).rstrip(b"=").decode()


# -- the project -----------------------------------------------------------------

def _append_schema(root: Path, specs: Iterable[VarSpec]) -> None:
    """Add ``[variables.NAME]`` tables to envman.toml (what import does, without tomlkit's cost at 10,000 names)."""
    import tomli_w

    from envman.manifest import spec_to_table

    tables = {"variables": {s.name: spec_to_table(s) for s in specs}}
    with (root / "envman.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n" + tomli_w.dumps(tables))


def _sealed_profile(
    project: Project, base: Profile, values: dict[str, str], secret_names: set[str], now: str, cache: Path | None,
) -> Profile:
    names = sorted(n for n in values if n in secret_names)
    fps = fingerprints(project.manifest.salt, [values[n] for n in names], cache)
    encryptor = Encryptor(project.manifest.project, base.env, project.manifest.public_key(base.env))
    secrets = {n: SecretRecord(encryptor.encrypt(n, values[n]), mask(values[n]), fp) for n, fp in zip(names, fps, strict=True)}
    plain = {n: v for n, v in values.items() if n not in secret_names}
    meta = {n: VarMeta(rotated_at=now) for n in names}
    return base._replace(values=plain, secrets=secrets, meta=meta)


class _FastWriter:
    """Appends versions and events like ``FileTransaction`` does, but without fsync and in one ledger write."""

    def __init__(self, store: FileStore) -> None:
        self.store = store
        self.head = store.head()
        self.lines: list[bytes] = []
        self.current: dict[str, bytes] = {}
        self.time = now_utc()

    def _add(self, entry: Entry) -> Entry:
        line, digest = encode(entry)
        entry = entry._replace(hash=digest)
        self.lines.append(line)
        versions, good = self.head.versions, self.head.good
        if entry.event in VERSION_EVENTS:
            versions = {**versions, entry.env: entry.version}
        if entry.marks_good:
            good = {**good, entry.env: [*good.get(entry.env, []), [entry.version, entry.seq]]}
        self.head = Head(seq=entry.seq, hash=digest, size=self.head.size + len(line), versions=versions, good=good)
        return entry

    def commit(self, draft: Profile, event: str, changed: list[str]) -> Profile:
        number = self.head.versions.get(draft.env, 0) + 1
        seq = self.head.seq + 1
        profile = draft._replace(version=number, ledger_seq=seq, ledger_hash="")
        entry = Entry(seq=seq, time=self.time, actor=ACTOR, event=event, env=draft.env, version=number,
                      changed=tuple(changed), profile=profile.content_hash(), prev=self.head.hash)
        entry = self._add(entry)
        profile = profile._replace(ledger_hash=entry.hash)
        data = profile.to_toml()
        path = self.store.version_path(draft.env, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.current[draft.env] = data
        return profile

    def record(self, event: str, env: str, version: int, profile: str, detail: dict[str, str]) -> None:
        self._add(Entry(seq=self.head.seq + 1, time=self.time, actor=ACTOR, event=event, env=env, version=version,
                        profile=profile, detail=detail, prev=self.head.hash))
        if len(self.lines) >= 50_000:
            self.flush()

    def flush(self) -> None:
        with self.store.ledger_path.open("ab") as fh:
            fh.writelines(self.lines)
        self.lines.clear()

    def finish(self) -> None:
        self.flush()
        for env, data in self.current.items():
            self.store.profile_path(env).write_bytes(data)
        self.store._write_head(self.head)


def build_project(
    root: Path, *, variables: int = 10, versions: int = 1, ledger_entries: int = 0, seed: int = 1, cache: Path | None = None,
) -> Workload:
    """A valid envman project in ``root`` (created) whose ``production`` holds the values.

    ``variables == 10`` gives the ten-variable application in all three
    environments; any other count gives that many secrets in production.
    ``versions`` is production's version count (changes to AI_REQUEST_TIMEOUT_MS
    after the first); ``ledger_entries`` pads the ledger to that many entries
    with ``export`` events, which create no versions. Version 1 of production is
    marked known good, so ``rollback`` has a target.
    """
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=False)
    init_project(root, project_id="bench", keys_file=root / ".envman-keys")
    manifest = root / "envman.toml"
    pinned = f'fingerprint_salt = "{bench_salt(seed)}"'
    text, found = re.subn(r'(?m)^fingerprint_salt = ".*"$', pinned, manifest.read_text(encoding="utf-8"))
    if found != 1:
        raise RuntimeError("envman.toml has no fingerprint_salt line to pin")
    manifest.write_text(text, encoding="utf-8")
    keys = read_keys_file(root / ".envman-keys")
    if variables == 10:
        per_env = {env: app_values(env, rng) for env in ENVS}
        specs = [VarSpec(name=n, type=t, required=True) for n, t in APP_VARS]
    else:
        per_env = {"production": secret_values(variables, rng)}
        specs = [VarSpec(name=n, type="secret", required=True) for n in per_env["production"]]
    secret_names = {s.name for s in specs if s.secret}
    _append_schema(root, specs)
    project = Project.open(root)
    store = project.store
    assert isinstance(store, FileStore), "the benchmarks build the default file backend"
    now = now_utc()

    # version 1 of each environment through the real write path, like `envman import`
    for env, values in per_env.items():
        with store.transaction() as txn:
            draft = _sealed_profile(project, txn.current(env), values, secret_names, now, cache)
            changed = sorted(values)
            keys_ids = {n: draft.secrets[n].masked for n in changed if n in draft.secrets}
            txn.commit(draft, "import", changed=changed, keys=keys_ids, detail={"source": ".env.bench"})

    writer = _FastWriter(store)
    profile = store.current("production")
    good_hash = profile.content_hash()
    if versions > 1 and TIMEOUT_VAR not in profile.values:
        raise ValueError(f"versions > 1 needs the {variables}-variable application workload")
    for i in range(2, versions + 1):
        draft = profile._replace(values={**profile.values, TIMEOUT_VAR: str(1000 + i)})
        profile = writer.commit(draft, "set", [TIMEOUT_VAR])
    writer.record("mark-good", "production", 1, good_hash, {"by": ACTOR})
    padding = ledger_entries - writer.head.seq
    current_hash = profile.content_hash()
    for _ in range(max(0, padding)):
        writer.record("export", "production", profile.version, current_hash, {"format": "dotenv"})
    writer.finish()
    return Workload(root, "production", dict(per_env["production"]), frozenset(secret_names), keys)


# -- yardstick inputs ------------------------------------------------------------

def write_plain_files(workload: Workload, folder: Path) -> dict[str, Path]:
    """The same values as a .env file (python-dotenv, sops, dotenvx) and a TOML file (dynaconf)."""
    folder.mkdir(parents=True, exist_ok=True)
    dotenv = folder / "plain.env"
    dotenv.write_text(workload.dotenv_text(), encoding="utf-8")
    toml = folder / "settings.toml"
    toml.write_text("".join(f'{k} = "{v}"\n' for k, v in sorted(workload.values.items())), encoding="utf-8")
    return {"dotenv": dotenv, "toml": toml}


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32(hrp: str, data: bytes) -> str:
    """BIP-173 bech32 (what age keys use), so no age-keygen binary is needed."""
    acc = bits = 0
    five: list[int] = []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)

    def polymod(values: list[int]) -> int:
        gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
        chk = 1
        for v in values:
            top = chk >> 25
            chk = ((chk & 0x1FFFFFF) << 5) ^ v
            for i in range(5):
                chk ^= gen[i] if (top >> i) & 1 else 0
        return chk

    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = polymod([*expanded, *five, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in five + checksum)


def age_keypair(seed: int = 1) -> tuple[str, str]:
    """A deterministic age X25519 identity as (recipient ``age1…``, identity ``AGE-SECRET-KEY-1…``)."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = hashlib.sha256(f"envman-bench-age-{seed}".encode()).digest()
    key = X25519PrivateKey.from_private_bytes(raw)
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _bech32("age", public), _bech32("age-secret-key-", raw).upper()


def _cached(cache: Path | None, names: Sequence[str], folder: Path) -> bool:
    """Copy ``names`` from ``cache`` into ``folder`` when all are there."""
    if cache is None or not all((cache / n).exists() for n in names):
        return False
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy2(cache / n, folder / n)
    return True


def _store(cache: Path | None, names: Sequence[str], folder: Path) -> None:
    if cache is None:
        return
    cache.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy2(folder / n, cache / n)


def write_sops_file(dotenv: Path, sops: Path, folder: Path, cache: Path | None = None) -> tuple[Path, dict[str, str]]:
    """Encrypt ``dotenv`` with sops for an age key; returns the file and the environment that decrypts it."""
    recipient, identity = age_keypair()
    key_file = folder / "age.key"
    key_file.write_text(f"# public key: {recipient}\n{identity}\n", encoding="utf-8")
    key_file.chmod(0o600)
    env = {"SOPS_AGE_KEY_FILE": str(key_file)}
    out = folder / "sops.env"
    if not _cached(cache, [out.name], folder):
        data = subprocess.run(
            [str(sops), "encrypt", "--age", recipient, "--input-type", "dotenv", "--output-type", "dotenv", str(dotenv)],
            check=True, capture_output=True, env={**os.environ, **env},
        ).stdout
        out.write_bytes(data)
        _store(cache, [out.name], folder)
    return out, env


def write_dotenvx_file(dotenv: Path, dotenvx: Path, folder: Path, cache: Path | None = None) -> Path:
    """Encrypt a copy of ``dotenv`` with dotenvx (its key goes to ``.env.keys`` beside it)."""
    target = folder / ".env"
    names = [".env", ".env.keys"]
    if _cached(cache / "dotenvx" if cache else None, names, folder):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    target.write_bytes(dotenv.read_bytes())
    subprocess.run([str(dotenvx), "encrypt", "-f", str(target)], check=True, capture_output=True, cwd=folder)
    _store(cache / "dotenvx" if cache else None, names, folder)
    return target
