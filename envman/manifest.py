"""envman.toml: project id, environments in promotion order, public keys, schema.

Read with ``tomllib`` (fast); edited with ``tomlkit`` only when envman itself
changes the file (init, import of new variables), so a user's comments survive.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from envman.errors import InvalidValue, NotFound, ProjectNotFound
from envman.records import Record
from envman.schema import TYPES, VarSpec, check_env_name, is_project_id, spec_from_toml

MANIFEST = "envman.toml"
DEFAULT_ENVS = ("test", "staging", "production")


class Manifest(Record):
    """The parsed, validated envman.toml."""

    root: Path
    project: str
    environments: tuple[str, ...]
    salt: str
    public_keys: dict[str, str]
    variables: Variables
    backend: dict[str, Any] = {}  # noqa: RUF012 - shared, never changed in place
    probe: dict[str, Any] = {}  # noqa: RUF012 - shared, never changed in place
    exports: dict[str, Any] = {}  # noqa: RUF012 - shared, never changed in place
    check: dict[str, Any] = {}  # noqa: RUF012 - shared, never changed in place

    @property
    def path(self) -> Path:
        return self.root / MANIFEST

    @property
    def data_dir(self) -> Path:
        return self.root / "environments"

    def require_env(self, env: str) -> str:
        """Return ``env`` if the project has it, else raise naming the known ones."""
        check_env_name(env)
        if env not in self.environments:
            raise NotFound(f"unknown environment {env!r}", f"known: {', '.join(self.environments)}; add one with `envman init --env {env}`")
        return env

    def public_key(self, env: str) -> str:
        key = self.public_keys.get(env)
        if not key:
            raise InvalidValue(f"envman.toml has no public key for {env!r}", f"run `envman init --env {env}` to create its key pair")
        return key

    def spec(self, var: str) -> VarSpec | None:
        return self.variables.get(var)

    def spec_or_default(self, var: str) -> VarSpec:
        """The schema entry, or an implicit string variable for names outside the schema."""
        return self.variables.get(var) or VarSpec(name=var)

    def is_last(self, env: str) -> bool:
        """True for the last environment of the promotion order (production by default)."""
        return bool(self.environments) and env == self.environments[-1]


def find_root(start: Path | None = None) -> Path:
    """The folder holding envman.toml: ``ENVMAN_PROJECT``, else ``start`` or the cwd and its parents."""
    explicit = os.environ.get("ENVMAN_PROJECT")
    here = Path(explicit) if explicit else (start or Path.cwd())
    here = here.absolute()
    for folder in (here, *here.parents):
        if (folder / MANIFEST).is_file():
            return folder
        if explicit:
            break
    raise ProjectNotFound(f"no {MANIFEST} in {here} or its parents", "run `envman init` to create a project, or cd into one")


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InvalidValue(f"{MANIFEST}: [{key}] must be a table", f"fix {MANIFEST}")
    return value


def parse_manifest(root: Path, data: dict[str, Any], variables: Variables | None = None) -> Manifest:
    """Validate the raw TOML mapping of envman.toml (``variables``: the schema, when already read)."""
    project = _table(data, "project")
    pid = project.get("id")
    if not isinstance(pid, str) or not is_project_id(pid):
        raise InvalidValue(f"{MANIFEST}: [project] id is missing or invalid", "use lower-case letters, digits, '.', '_' or '-'")
    envs = project.get("environments", list(DEFAULT_ENVS))
    if not isinstance(envs, list) or not envs or not all(isinstance(e, str) for e in envs):
        raise InvalidValue(
            f"{MANIFEST}: [project] environments must be a non-empty list of names", 'e.g. environments = ["test", "staging", "production"]'
        )
    for env in envs:
        check_env_name(env)
    if len(set(envs)) != len(envs):
        raise InvalidValue(f"{MANIFEST}: an environment is listed twice", f"fix {MANIFEST}")
    salt = project.get("fingerprint_salt")
    if not isinstance(salt, str) or len(salt) < 16:
        raise InvalidValue(f"{MANIFEST}: [project] fingerprint_salt is missing", "it is created by `envman init`; restore it from git")
    keys = _table(data, "keys")
    if not all(isinstance(v, str) for v in keys.values()):
        raise InvalidValue(f"{MANIFEST}: [keys] values must be public key strings", f"fix {MANIFEST}")
    if variables is None:
        variables = Variables({name: spec_from_toml(name, raw) for name, raw in _table(data, "variables").items()})
    return Manifest(
        root=root,
        project=pid,
        environments=tuple(envs),
        salt=salt,
        public_keys=dict(keys),
        variables=variables,
        backend=_table(data, "backend"),
        probe=_table(data, "probe"),
        exports=_table(data, "exports"),
        check=_table(data, "check"),
    )


# A large schema is a long run of the tables `envman set --type` and `envman import`
# write: `type`, then `required = true|false`. Such a run is checked by one regular
# expression (envman.blocks) and kept as bytes: most commands look up a
# few variables or none, so specs are built only when the whole table is used.
_VARIABLE_BLOCK = rb'\[variables\.([A-Z_][A-Z0-9_]*)\]\ntype = "(' + "|".join(TYPES).encode() + rb')"\n(?:required = (true|false)\n)?\n?'


class Variables(Mapping[str, VarSpec]):
    """The ``[variables]`` of envman.toml: specs by name.

    Read from a run of plain tables, the specs are a ``RunTable`` over the file's
    bytes: a command that looks up a few variables builds only those.
    """

    __slots__ = ("_specs",)

    def __init__(self, specs: Mapping[str, VarSpec]) -> None:
        self._specs = specs

    def __getitem__(self, name: str) -> VarSpec:
        return self._specs[name]

    def get(self, name: str, default: VarSpec | None = None) -> VarSpec | None:  # type: ignore[override]  # specs only
        return self._specs.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def export_names(self, key: str) -> dict[str, str]:
        """Variable -> the name it takes for target or service ``key`` (``export_as``)."""
        if not isinstance(self._specs, dict):
            return {}  # a run of plain tables sets no export_as
        return {name: spec.export_as[key] for name, spec in self._specs.items() if key in spec.export_as}

    def __repr__(self) -> str:
        return f"Variables({len(self)} specs)"


def _spec_of(groups: tuple[bytes, ...]) -> VarSpec:
    name, kind, required = groups
    return VarSpec(name.decode(), kind.decode(), required == b"true")


def _read_variables_run(raw: bytes) -> tuple[dict[str, Any], Variables] | None:
    """envman.toml parsed like ``tomllib.loads`` but for a run of plain variable tables, checked and kept as bytes."""
    from envman.blocks import NotSimple, RunTable, block_run
    from envman.profile import read_simple_toml

    run = block_run(raw, b"variables")
    if run is None:
        return None
    try:
        names = [m.group(1) for m in run.blocks(_VARIABLE_BLOCK)]
        data = read_simple_toml(run.cut().decode("utf-8"))
    except (NotSimple, UnicodeDecodeError):
        return None
    if data is None or len(set(names)) != len(names) or "variables" in data:
        return None
    return data, Variables(RunTable(run, b"variables", _VARIABLE_BLOCK, _spec_of, len(names)))


def load_manifest(root: Path | None = None) -> Manifest:
    """Find and read envman.toml."""
    from envman import blocks
    from envman.profile import read_simple_toml

    folder = root if root is not None else find_root()
    path = folder / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProjectNotFound(f"no {MANIFEST} in {folder}", "run `envman init` first") from None
    except OSError as exc:
        raise InvalidValue(f"cannot read {path}: {exc.strerror}", "check the file's permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValue(f"{path} is not UTF-8 text", "save it as UTF-8") from None
    if text.startswith("\ufeff"):
        raise InvalidValue(f"{path} starts with a byte-order mark", "save it as UTF-8 without BOM")
    # the plain subset envman writes is read without tomllib (see envman.profile.read_simple_toml)
    found = _read_variables_run(raw) if len(raw) >= blocks.BLOCKS_FROM else None
    if found is not None:
        return parse_manifest(folder, *found)
    data = read_simple_toml(text)
    if data is None:
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidValue(f"{path} is not valid TOML ({exc})", "fix the syntax or restore it from git") from None
    return parse_manifest(folder, data)


def render_new_manifest(project: str, envs: list[str], salt: str, keys: dict[str, str]) -> str:
    """The text of a fresh envman.toml with the example LLM schema commented in."""
    import tomlkit

    doc = tomlkit.document()
    doc.add(tomlkit.comment("envman manifest: commit this file. Public keys only; private keys stay in your keychain."))
    proj = tomlkit.table()
    proj.add("id", project)
    proj.add(tomlkit.comment("promotion order: changes move left to right, the last one is production"))
    proj.add("environments", envs)
    proj.add("fingerprint_salt", salt)
    doc.add("project", proj)
    key_table = tomlkit.table()
    for env, key in keys.items():
        key_table.add(env, key)
    doc.add("keys", key_table)
    backend = tomlkit.table()
    backend.add("type", "files")
    doc.add("backend", backend)
    doc.add("variables", tomlkit.table(is_super_table=True))
    return tomlkit.dumps(doc)


def edit_manifest(root: Path, edit: Any) -> None:
    """Apply ``edit(doc)`` to envman.toml with tomlkit, keeping comments, written atomically."""
    import tomlkit

    from envman.fsutil import atomic_write

    path = root / MANIFEST
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    edit(doc)
    atomic_write(path, tomlkit.dumps(doc).encode("utf-8"))


def set_public_key(root: Path, env: str, public: str) -> bool:
    """Make ``public`` the key of ``env`` in envman.toml's [keys] (as `envman rekey` recorded it); False if it already was.

    The one line is replaced in the text when [keys] holds it as envman writes it (a
    large schema makes a tomlkit round trip take seconds); otherwise tomlkit edits it.
    """
    import re

    from envman.fsutil import atomic_write

    path = root / MANIFEST
    text = path.read_text(encoding="utf-8")
    table = re.search(r"(?m)^\[keys\][ \t]*(?:#.*)?\n(?:(?!\[).*\n?)*", text)
    line = re.search(rf'(?m)^([ \t]*{re.escape(env)}[ \t]*=[ \t]*)"([^"\\\n]*)"[ \t]*$', table.group()) if table else None
    if table is not None and line is not None:
        if line.group(2) == public:
            return False
        at = table.start() + line.start(2)
        edited = text[:at] + public + text[at + len(line.group(2)):]
        if _keys_of(edited).get(env) == public:
            atomic_write(path, edited.encode("utf-8"))
            return True
        # not the plain layout after all: let tomlkit do it
    elif _keys_of(text).get(env) == public:
        return False

    def edit(doc: Any) -> None:
        doc["keys"][env] = public

    edit_manifest(root, edit)
    return True


def _keys_of(text: str) -> dict[str, Any]:
    import tomllib

    try:
        keys = tomllib.loads(text).get("keys", {})
    except tomllib.TOMLDecodeError:
        return {}
    return keys if isinstance(keys, dict) else {}


def spec_to_table(spec: VarSpec) -> dict[str, Any]:
    """The ``[variables.NAME]`` table for a spec, omitting defaults."""
    table: dict[str, Any] = {"type": spec.type}
    if spec.required:
        table["required"] = True
    for key in ("promote", "owner", "rotation_method", "description"):
        if getattr(spec, key):
            table[key] = getattr(spec, key)
    if spec.rotation_days:
        table["rotation_days"] = spec.rotation_days
    if spec.pin:
        table["pin"] = list(spec.pin)
    if spec.ignore:
        table["ignore"] = list(spec.ignore)
    if spec.export_as:
        table["export_as"] = dict(spec.export_as)
    return table
