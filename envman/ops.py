"""The use cases behind the commands. Pure library: no click, no printing.

Each function takes a ``Project`` (manifest + store + key access) and returns
data the CLI renders. Changes go through one store transaction each.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envman.errors import EnvmanError, InvalidValue, NotFound, UsageError
from envman.manifest import Manifest, load_manifest
from envman.profile import Profile, SecretRecord, VarMeta
from envman.records import Record
from envman.schema import VarSpec, check_var_name, validate_value

if TYPE_CHECKING:
    from envman.crypto import Decryptor, Encryptor, Secret
    from envman.ledger import Entry
    from envman.store import Store


class Project:
    """An opened project: manifest, storage backend and per-command key material."""

    def __init__(self, manifest: Manifest, store: Store | None = None) -> None:
        self.manifest = manifest
        if store is None:
            from envman.store import open_store

            store = open_store(manifest)
        self.store = store
        self._encryptors: dict[str, Encryptor] = {}
        self._decryptors: dict[str, Decryptor] = {}
        self._private: dict[str, tuple[str, str]] = {}  # env -> (the private key its decryptor uses, where it was found)

    @classmethod
    def open(cls, root: Path | None = None) -> Project:
        """Open the project in ``root`` (or found from the cwd / ENVMAN_PROJECT)."""
        return cls(load_manifest(root))

    def encryptor(self, env: str) -> Encryptor:
        """One ephemeral key agreement per environment per command."""
        if env not in self._encryptors:
            from envman.crypto import Encryptor

            self._encryptors[env] = Encryptor(self.manifest.project, env, self.manifest.public_key(env))
        return self._encryptors[env]

    def decryptor(self, env: str) -> Decryptor:
        """The decryptor for ``env``, looking its private key up once (its retired keys only when needed)."""
        if env not in self._decryptors:
            from envman.crypto import Decryptor
            from envman.errors import KeyUnavailable
            from envman.keys import locate_private_key, retired_keys

            project, public = self.manifest.project, self.manifest.public_key(env)
            key, source = locate_private_key(project, env)

            def make(current: str) -> Decryptor:
                return Decryptor(project, env, current, public, spare=lambda: [*retired_keys(project, env), key],
                                 unopened=lambda var: self._unopened(env, var))

            used = key
            try:
                self._decryptors[env] = make(key)
            except KeyUnavailable:
                # A rekey interrupted after envman.toml got the new public key: the new key waits among the retired ones.
                retired = self._retired_key_of(env, public)
                if retired is None:
                    raise self._wrong_key(env, key, source) from None
                self._decryptors[env], used = make(retired), retired
            except InvalidValue as exc:
                raise InvalidValue(f"{exc.message} (read from {source})", exc.hint) from None
            self._private[env] = (used, source)
        return self._decryptors[env]

    def private_key(self, env: str) -> tuple[str, str]:
        """The private key ``env``'s values are opened with (it matches envman.toml) and where it was found."""
        self.decryptor(env)
        return self._private[env]

    def _retired_key_of(self, env: str, public: str) -> str | None:
        from envman.crypto import public_from_private
        from envman.keys import retired_keys

        for key in retired_keys(self.manifest.project, env):
            try:
                if public_from_private(key) == public.strip():
                    return key
            except InvalidValue:
                continue
        return None

    def _unopened(self, env: str, var: str) -> EnvmanError | None:
        """Why no key opens a value of ``env``, when it may be sealed for a key pair `envman rekey` replaced."""
        if not self.store.head().keyed.get(env):
            return None
        from envman.errors import RetiredKeyMissing
        from envman.keys import retired_var_name

        return RetiredKeyMissing(
            f"{env}/{var}: no key here opens this value: it was sealed for an earlier key pair of {env} (replaced by `envman rekey`),"
            " or it was tampered with",
            f"give the retired keys in {retired_var_name(env)} (or use the keychain `envman rekey` stored them in);"
            " `envman ledger verify` tells whether the file was edited",
        )

    def _wrong_key(self, env: str, key: str, source: str) -> EnvmanError:
        """Name whose key was given instead of ``env``'s, when it is one of this project's."""
        from envman.crypto import public_from_private
        from envman.errors import KeyUnavailable
        from envman.keys import env_var_name

        public = public_from_private(key)
        owner = next((e for e, pk in self.manifest.public_keys.items() if pk.strip() == public), None)
        whose = f"is the key of environment {owner!r}" if owner else "belongs to another project or an older key pair"
        hint = f"give {env}'s own key in {env_var_name(env)} or the OS keychain"
        keyed = self.store.head().keyed.get(env)
        if keyed and not owner:
            hint = f"{env}'s key pair was replaced by `envman rekey` at version {keyed[-1]}: get the new key from whoever ran it, then " + hint
        return KeyUnavailable(
            f"wrong private key for {env!r}: the one from {source} {whose} (it does not match the public key of {env} in envman.toml)", hint,
        )

    def forget_keys(self, env: str, public: str) -> None:
        """After ``env`` got a new public key: drop the key material cached for the old one."""
        self.manifest = self.manifest._replace(public_keys={**self.manifest.public_keys, env: public})
        self.store.manifest = self.manifest
        self._encryptors.pop(env, None)
        self._decryptors.pop(env, None)
        self._private.pop(env, None)

    def seal(self, env: str, var: str, plaintext: str) -> SecretRecord:
        """Encrypt a secret and compute the forms shown without the key."""
        from envman.crypto import fingerprint, mask

        return SecretRecord(self.encryptor(env).encrypt(var, plaintext), mask(plaintext), fingerprint(self.manifest.salt, plaintext))

    def reveal(self, env: str, var: str, record: SecretRecord) -> Secret:
        return self.decryptor(env).decrypt(var, record.ciphertext)

    def spec(self, var: str) -> VarSpec:
        return self.manifest.spec_or_default(var)


# -- references to versions ------------------------------------------------------

def parse_ref(project: Project, ref: str) -> tuple[str, str]:
    """Split ``production@12`` / ``staging@latest`` / ``production@good`` into (env, selector)."""
    env, sep, sel = ref.partition("@")
    project.manifest.require_env(env)
    if sep and not sel:
        raise UsageError(f"empty version in {ref!r}", "use ENV@N, ENV@latest or ENV@good")
    return env, sel or "latest"


def resolve_ref(project: Project, ref: str) -> Profile:
    """The profile a reference names."""
    env, sel = parse_ref(project, ref)
    return resolve_version(project, env, sel)


def resolve_version(project: Project, env: str, sel: str) -> Profile:
    """The profile of ``env`` for a selector: a number, ``latest`` or ``good``."""
    if sel == "latest":
        return project.store.current(env)
    if sel == "good":
        good = good_versions(project, env)
        if not good:
            raise NotFound(f"{env} has no known-good version", f"run `envman verify {env}` or `envman mark-good {env}`")
        return project.store.version(env, good[-1])
    if not sel.isascii() or not sel.isdigit():
        raise UsageError(f"invalid version {sel!r}", "use a positive number, 'latest' or 'good'")
    if len(sel.lstrip("0")) > 18:  # int() refuses more than 4,300 digits; no environment has 10**18 versions
        raise NotFound(f"{env} has no version {sel[:12]}… ({len(sel)} digits)", f"list its versions with `envman history {env}`")
    number = int(sel.lstrip("0") or "0")  # leading zeros count towards int()'s digit limit too
    if number < 1:
        raise UsageError(f"invalid version {number}", "versions are numbered from 1")
    return project.store.version(env, number)


def good_versions(project: Project, env: str) -> list[int]:
    """Versions of ``env`` attested known good, oldest first (no ledger scan)."""
    return sorted({v for v, _ in project.store.head().good.get(env, [])})


# -- reading -------------------------------------------------------------------

class Row(Record):
    """One variable as shown to a user."""

    name: str
    type: str
    value: str  # plaintext for plain values; masked (or revealed) for secrets
    secret: bool
    fingerprint: str = ""
    owner: str = ""
    rotated_at: str = ""
    in_schema: bool = True

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "value": self.value, "secret": self.secret}
        if self.secret:
            out["fingerprint"] = self.fingerprint
        if self.owner:
            out["owner"] = self.owner
        if self.rotated_at:
            out["rotated_at"] = self.rotated_at
        if not self.in_schema:
            out["in_schema"] = False
        return out


def effective_meta(project: Project, profile: Profile, var: str) -> VarMeta:
    """Per-environment metadata, falling back to the schema's defaults."""
    return profile.meta.get(var, VarMeta()).with_defaults(project.spec(var))


def row(project: Project, profile: Profile, var: str, *, reveal: bool = False) -> Row:
    """The display row of one variable."""
    spec = project.spec(var)
    meta = effective_meta(project, profile, var)
    in_schema = var in project.manifest.variables
    if var in profile.secrets:
        record = profile.secrets[var]
        value = project.reveal(profile.env, var, record).reveal() if reveal else record.masked
        return Row(var, "secret", value, True, record.fingerprint, meta.owner, meta.rotated_at, in_schema)
    if var in profile.values:
        return Row(var, spec.type, profile.values[var], False, "", meta.owner, meta.rotated_at, in_schema)
    raise NotFound(f"{var} is not set in {profile.env}", f"set it with `envman set {profile.env} {var}`")


def get(project: Project, env: str, var: str, *, reveal: bool = False, version: str = "latest") -> Row:
    """One variable of an environment."""
    check_var_name(var)
    return row(project, resolve_version(project, env, version), var, reveal=reveal)


def show(project: Project, env: str, *, reveal: bool = False, version: str = "latest") -> tuple[Profile, list[Row]]:
    """All variables of an environment, sorted by name."""
    profile = resolve_version(project, env, version)
    return profile, [row(project, profile, var, reveal=reveal) for var in profile.names()]


class EnvStatus(Record):
    env: str
    version: int
    good: int | None
    profile: Profile


def status(project: Project) -> tuple[list[str], list[EnvStatus]]:
    """Every variable (schema and set) and every environment's current profile."""
    head = project.store.head()
    envs: list[EnvStatus] = []
    names: set[str] = set(project.manifest.variables)
    for env in project.manifest.environments:
        profile = project.store.current(env)
        good = max((v for v, _ in head.good.get(env, [])), default=None)
        envs.append(EnvStatus(env, profile.version, good, profile))
        names.update(profile.names())
    return sorted(names), envs


def history(
    project: Project, env: str | None = None, *, var: str | None = None, event: str | None = None,
    since: str | None = None, limit: int | None = None,
) -> Iterator[Entry]:
    """Ledger entries newest first, filtered; stops reading as soon as ``limit`` is reached."""
    if env is not None:
        project.manifest.require_env(env)
    if var is not None:
        check_var_name(var)
    if since is not None:
        since = _since(since)
    count = 0
    for entry in project.store.entries_newest_first():
        if since and entry.time < since:
            break
        if env is not None and entry.env != env:
            continue
        if var is not None and var not in entry.changed:
            continue
        if event is not None and entry.event != event:
            continue
        yield entry
        count += 1
        if limit is not None and count >= limit:
            break


def _since(text: str) -> str:
    """``--since`` as a ledger time: a UTC date or time (``2026-11-01``, ``2026-11-01T09:30``) or an age (``7d``, ``12h``)."""
    from datetime import UTC, datetime, timedelta

    raw = text.strip()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    try:
        # ASCII digits only: "²".isdigit() is true but int() refuses it; an age too large for a date overflows
        if raw[:-1].isascii() and raw[:-1].isdigit() and raw[-1:] in units:
            when = datetime.now(UTC) - timedelta(**{units[raw[-1]]: int(raw[:-1])})
        else:
            when = datetime.fromisoformat(raw.removesuffix("Z"))
            if when.tzinfo is not None:
                when = when.astimezone(UTC)
    except (ValueError, OverflowError):
        hint = "use a UTC date or time such as 2026-11-01 or 2026-11-01T09:30, or an age such as 7d or 12h"
        raise UsageError(f"invalid --since {text!r}", hint) from None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- writing -------------------------------------------------------------------

def _key_ids(profile: Profile, names: Iterable[str]) -> dict[str, str]:
    """Masked ids of the secrets among ``names`` (for the ledger: never values)."""
    return {n: profile.secrets[n].masked for n in names if n in profile.secrets}


def put_value(project: Project, profile: Profile, var: str, value: str, *, now: str) -> Profile:
    """A copy of ``profile`` with ``var`` set (validated, encrypted when secret)."""
    spec = project.spec(var)
    validate_value(spec, value)
    values, secrets, meta = dict(profile.values), dict(profile.secrets), dict(profile.meta)
    if spec.secret:
        old = secrets.get(var)
        record = project.seal(profile.env, var, value)
        if old is not None and old.fingerprint == record.fingerprint and var not in values:
            # the same secret again: not a rotation (its age and rollback value stay as they are)
            return profile
        secrets[var] = record
        values.pop(var, None)
        previous = meta.get(var, VarMeta())
        # the replaced value stays restorable as this variable's rollback value
        meta[var] = previous._replace(rotated_at=now, rollback=old if old is not None else previous.rollback)
    else:
        values[var] = value
        secrets.pop(var, None)
    return profile._replace(values=values, secrets=secrets, meta=meta)


def add_to_schema(project: Project, specs: list[VarSpec]) -> None:
    """Append new variables to envman.toml (keeping its comments) and reload the manifest.

    Call it inside the store's transaction: the file is read again under the lock, so
    writers adding variables at the same time keep each other's entries. A name that
    is already in the file is left as it is.
    """
    from envman.manifest import edit_manifest, spec_to_table

    def edit(doc: Any) -> None:
        import tomlkit

        variables = doc.setdefault("variables", tomlkit.table(is_super_table=True))
        for spec in specs:
            if spec.name in variables:
                continue
            table = tomlkit.table()
            for key, val in spec_to_table(spec).items():
                table.add(key, val)
            variables[spec.name] = table

    edit_manifest(project.manifest.root, edit)
    project.manifest = load_manifest(project.manifest.root)


def _unknown_var(project: Project, var: str) -> InvalidValue:
    from envman.names import near_misses

    close = near_misses(var, project.manifest.variables)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return InvalidValue(f"{var} is not in the schema of envman.toml", hint + "to add it, re-run with --type TYPE (e.g. --type string)")


class Change(Record):
    """The result of a write: the new profile and its ledger entry."""

    profile: Profile
    entry: Entry
    notes: list[str] = []  # noqa: RUF012 - shared, never changed in place


def set_var(project: Project, env: str, var: str, value: str, *, new_type: str | None = None) -> Change:
    """Set one variable as a new version of ``env``."""
    project.manifest.require_env(env)
    check_var_name(var)
    notes: list[str] = []
    spec = project.manifest.spec(var)
    new_spec: VarSpec | None = None
    if spec is None:
        if new_type is None:
            raise _unknown_var(project, var)
        new_spec = VarSpec(name=var, type=new_type)
        validate_value(new_spec, value)
    elif new_type is not None and new_type != spec.type:
        raise InvalidValue(f"{var} already has type {spec.type} in envman.toml", "change the type in envman.toml, not with --type")
    from envman.store.files import now_utc

    with project.store.transaction() as txn:
        if new_spec is not None:
            # under the lock: another writer may have added variables (or this one) meanwhile
            project.manifest = load_manifest(project.manifest.root)
            spec = project.manifest.spec(var)
            if spec is None:
                add_to_schema(project, [new_spec])
                notes.append(f"added {var} (type {new_spec.type}) to envman.toml")
            elif spec.type != new_spec.type:
                raise InvalidValue(f"{var} was just added to envman.toml with type {spec.type}", "re-run without --type")
        current = txn.current(env)
        draft = put_value(project, current, var, value, now=now_utc())
        if draft.body() == current.body():
            raise UsageError(f"{var} in {env} already has this value", "nothing to change")
        profile, entry = txn.commit(draft, "set", changed=[var], keys=_key_ids(draft, [var]), detail={})
    return Change(profile, entry, notes)


def unset_var(project: Project, env: str, var: str) -> Change:
    """Remove one variable as a new version of ``env``."""
    project.manifest.require_env(env)
    check_var_name(var)
    with project.store.transaction() as txn:
        current = txn.current(env)
        if not current.has(var):
            raise NotFound(f"{var} is not set in {env}", "nothing to unset")
        values, secrets = dict(current.values), dict(current.secrets)
        keys = _key_ids(current, [var])
        values.pop(var, None)
        secrets.pop(var, None)
        draft = current._replace(values=values, secrets=secrets)
        profile, entry = txn.commit(draft, "unset", changed=[var], keys=keys, detail={})
    return Change(profile, entry)


# -- import ----------------------------------------------------------------------

def parse_dotenv(path: Path) -> list[tuple[str, str, int]]:
    """Read a .env file strictly: (name, value, line). Refuses what it cannot read exactly."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{path} does not exist", "give the path of the .env file to import") from None
    except OSError as exc:
        raise InvalidValue(f"cannot read {path}: {exc.strerror}", "check the path and permissions") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raise InvalidValue(f"{path} starts with a byte-order mark", "save it as UTF-8 without BOM (e.g. `sed -i '1s/^\\xEF\\xBB\\xBF//' FILE`)")
    if b"\x00" in raw:
        raise InvalidValue(f"{path} contains a NUL byte", "it is not a text .env file")
    if b"\r" in raw:
        raise InvalidValue(f"{path} has CRLF (Windows) line endings", "convert it with `dos2unix FILE` and re-run")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValue(f"{path} is not UTF-8 text", "convert it to UTF-8 and re-run") from None
    import io

    from dotenv.parser import parse_stream

    seen: dict[str, int] = {}
    out: list[tuple[str, str, int]] = []
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            raise InvalidValue(f"{path}:{line}: not a NAME=value line", "fix or remove that line")
        if binding.key is None:
            continue
        name = binding.key
        if binding.value is None:
            raise InvalidValue(f"{path}:{line}: {name!r} has no '=value'", "write NAME= for an empty value")
        try:
            check_var_name(name)
        except InvalidValue as exc:
            raise InvalidValue(f"{path}:{line}: {exc.message}", exc.hint) from None
        if name in seen:
            raise InvalidValue(f"{path}:{line}: {name} is already set on line {seen[name]}", "keep one of the two lines")
        seen[name] = line
        out.append((name, binding.value, line))
    return out


def import_dotenv(project: Project, path: Path, env: str) -> Change:
    """Adopt a .env file as a new version of ``env``: types inferred, secrets encrypted."""
    from envman.schema import infer_type
    from envman.store.files import now_utc

    project.manifest.require_env(env)
    items = parse_dotenv(path)
    if not items:
        raise InvalidValue(f"{path} defines no variables", "check the file")

    def new_specs() -> list[VarSpec]:
        """Validate every value against the schema; the inferred specs of names it lacks."""
        found: list[VarSpec] = []
        for name, value, line in items:
            spec = project.manifest.spec(name)
            if spec is None:
                spec = VarSpec(name=name, type=infer_type(name, value), required=True)
                if spec.secret and not value:
                    # adding it as a plain string would store its real value unencrypted later
                    raise InvalidValue(
                        f"{path}:{line}: {name} looks like a secret but its value is empty",
                        f"give its value or remove the line (for an empty plain value: `envman set {env} {name} '' --type string`)",
                    )
                found.append(spec)
            try:
                validate_value(spec, value)
            except InvalidValue as exc:
                raise InvalidValue(f"{path}:{line}: {exc.message}", exc.hint) from None
        return found

    notes = []
    now = now_utc()
    adding = new_specs()  # fail fast, before taking the lock
    with project.store.transaction() as txn:
        if adding:
            # under the lock: another writer may have changed the schema meanwhile
            project.manifest = load_manifest(project.manifest.root)
            adding = new_specs()
            if adding:
                add_to_schema(project, adding)
                notes.append("added to envman.toml: " + ", ".join(f"{s.name} ({s.type})" for s in adding))
        current = txn.current(env)
        draft = current
        for name, value, _ in items:
            draft = put_value(project, draft, name, value, now=now)
        changed = sorted(n for n, _, _ in items if _differs(current, draft, n))
        if not changed:
            raise UsageError(f"{env} already holds exactly these values", "nothing to import")
        profile, entry = txn.commit(
            draft, "import", changed=changed, keys=_key_ids(draft, changed), detail={"source": os.path.basename(path)}
        )
    return Change(profile, entry, notes)


def _differs(old: Profile, new: Profile, var: str) -> bool:
    if var in new.secrets:
        return var not in old.secrets or old.secrets[var].fingerprint != new.secrets[var].fingerprint
    return old.values.get(var) != new.values.get(var) or var in old.secrets


# -- init ------------------------------------------------------------------------

class InitResult(Record):
    root: Path
    created: bool
    envs: list[str]
    key_places: dict[str, str]  # env -> "keychain" or the keys file path
    keys_file: Path | None


def _default_project_id(root: Path) -> str:
    import re

    slug = re.sub(r"[^a-z0-9._-]+", "-", root.name.lower()).strip("-._") or "app"
    return slug[:64]


def init_project(
    root: Path, *, project_id: str | None = None, envs: list[str] | None = None, keys_file: Path | None = None
) -> InitResult:
    """Create envman.toml, environments/ and key pairs, or add environments to an existing project."""
    from envman.crypto import generate_keypair, new_salt
    from envman.fsutil import atomic_write
    from envman.manifest import DEFAULT_ENVS, MANIFEST, edit_manifest, render_new_manifest
    from envman.schema import check_env_name, is_project_id

    for env in envs or []:
        check_env_name(env)
    if project_id is not None and not is_project_id(project_id):
        raise InvalidValue(f"invalid project id {project_id!r}", "use lower-case letters, digits, '.', '_' or '-'")
    manifest_path = root / MANIFEST
    created = not manifest_path.exists()
    if created:
        new_envs = list(dict.fromkeys(envs or DEFAULT_ENVS))
        pid = project_id or _default_project_id(root)
    else:
        manifest = load_manifest(root)
        pid = manifest.project
        new_envs = [e for e in dict.fromkeys(envs or []) if e not in manifest.environments]
        if not new_envs:
            raise UsageError(f"{manifest_path} already exists", "add environments with `envman init --env NAME`")
    pairs = {env: generate_keypair() for env in new_envs}
    places = _store_private_keys(root, pid, {e: sk for e, (_, sk) in pairs.items()}, keys_file)
    if created:
        text = render_new_manifest(pid, new_envs, new_salt(), {e: pk for e, (pk, _) in pairs.items()})
        atomic_write(manifest_path, text.encode("utf-8"))
    else:
        def edit(doc: Any) -> None:
            doc["project"]["environments"].extend(new_envs)
            for env in new_envs:
                doc["keys"][env] = pairs[env][0]

        edit_manifest(root, edit)
    data = root / "environments"
    data.mkdir(exist_ok=True)
    ignore = data / ".gitignore"
    if not ignore.exists():
        atomic_write(ignore, b"# envman's lock and temp files\n.lock\n.*.tmp\n")
    used = next((Path(p) for p in places.values() if p != "keychain"), None)
    if used is not None and used.parent == root:
        gitignore(root, used.name)
    return InitResult(root, created, new_envs, places, used)


def _store_private_keys(root: Path, project: str, keys: dict[str, str], keys_file: Path | None) -> dict[str, str]:
    from envman.keys import env_var_name, read_keys_file, store_in_keyring, write_keys_file

    places: dict[str, str] = {}
    pending: dict[str, str] = {}
    for env, sk in keys.items():
        if keys_file is None and store_in_keyring(project, env, sk):
            places[env] = "keychain"
        else:
            pending[env] = sk
    if pending:
        path = (keys_file or root / ".envman-keys").resolve()
        existing = read_keys_file(path) if path.exists() else {}
        for env, sk in pending.items():
            if existing.get(env_var_name(env), sk) != sk:
                # overwriting it would make another project's secrets unreadable for good
                raise UsageError(f"{path} already holds {env_var_name(env)} (of another project?)", "give this project its own --keys-file")
            existing[env_var_name(env)] = sk
            places[env] = str(path)
        write_keys_file(path, existing)
    return places


def gitignore(root: Path, name: str) -> None:
    """Add ``name`` to the project's .gitignore unless it is listed."""
    from envman.fsutil import atomic_write

    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if name not in text.splitlines():
        atomic_write(path, (text + ("" if not text or text.endswith("\n") else "\n") + f"{name}\n").encode("utf-8"))
