"""manifest.py and profile.py: envman.toml parsing and validation, profiles as pure data and TOML."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import envman.blocks
import envman.profile
from envman.errors import InvalidValue, NotFound, ProjectNotFound, TamperError
from envman.manifest import edit_manifest, find_root, load_manifest, parse_manifest, spec_to_table
from envman.profile import Profile, SecretRecord, VarMeta, empty_profile, profile_from_mapping, profile_from_toml
from envman.schema import VarSpec, spec_from_toml

SALT = "s" * 22


def _data(**project: Any) -> dict[str, Any]:
    base = {"id": "demo", "environments": ["test", "production"], "fingerprint_salt": SALT}
    base.update(project)
    return {"project": base, "keys": {"test": "envman-pk1:x"}, "variables": {"A_URL": {"type": "url"}}}


def test_init_creates_a_manifest_that_loads(project) -> None:  # type: ignore[no-untyped-def]
    """envman init writes an envman.toml with the project id, environments in order, salt and public keys."""
    m = load_manifest(project.root)
    assert m.project == "demo-app" and m.environments == ("test", "staging", "production")
    assert set(m.public_keys) == set(m.environments) and len(m.salt) >= 16
    assert m.is_last("production") and not m.is_last("test")
    assert m.data_dir == project.root / "environments" and m.path == project.root / "envman.toml"
    assert m.backend == {"type": "files"}


def test_find_root_walks_up_and_honours_envman_project(project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The project is found from a subfolder, or from ENVMAN_PROJECT; elsewhere it is a clear error."""
    sub = project.root / "src" / "deep"
    sub.mkdir(parents=True)
    assert find_root(sub) == project.root
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(ProjectNotFound, match="envman init"):
        find_root(elsewhere)
    monkeypatch.setenv("ENVMAN_PROJECT", str(project.root))
    assert find_root(elsewhere) == project.root
    monkeypatch.setenv("ENVMAN_PROJECT", str(sub))  # explicit: no walking up
    with pytest.raises(ProjectNotFound):
        find_root()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"project": {"environments": ["test"], "fingerprint_salt": SALT}}, "id is missing"),
        (_data(id="Demo App"), "id is missing or invalid"),
        (_data(environments=[]), "non-empty list"),
        (_data(environments="test"), "non-empty list"),
        (_data(environments=["test", "test"]), "listed twice"),
        (_data(environments=["../../etc"]), "invalid environment name"),
        (_data(environments=["test\n"]), "invalid environment name"),
        (_data(fingerprint_salt="short"), "fingerprint_salt"),
        ({**_data(), "keys": {"test": 5}}, "public key strings"),
        ({**_data(), "keys": "x"}, "[keys] must be a table"),
        ({**_data(), "variables": {"lower": {}}}, "invalid variable name"),
        ({**_data(), "variables": {"A": {"type": "float"}}}, "unknown type"),
        ({**_data(), "backend": ["files"]}, "[backend] must be a table"),
    ],
)
def test_parse_manifest_refuses_malformed_data(data: dict[str, Any], why: str) -> None:
    """Each malformation of envman.toml is an InvalidValue naming the field."""
    with pytest.raises(InvalidValue) as info:
        parse_manifest(Path("/x"), data)
    assert why in str(info.value)


@pytest.mark.parametrize(
    ("raw", "why"),
    [(b"\xef\xbb\xbf[project]\n", "byte-order mark"), (b"[project\n", "not valid TOML"), (b"\xff\xfe", "not UTF-8")],
)
def test_load_manifest_refuses_unreadable_files(tmp_path: Path, raw: bytes, why: str) -> None:
    """BOM, broken TOML and non-UTF-8 bytes are refused naming the file."""
    (tmp_path / "envman.toml").write_bytes(raw)
    with pytest.raises(InvalidValue) as info:
        load_manifest(tmp_path)
    assert why in str(info.value) and "envman.toml" in str(info.value)


def test_require_env_and_public_key(project) -> None:  # type: ignore[no-untyped-def]
    """Unknown environments list the known ones; a malformed name is refused before any lookup."""
    m = load_manifest(project.root)
    assert m.require_env("staging") == "staging"
    with pytest.raises(NotFound, match="known: test, staging, production"):
        m.require_env("qa")
    with pytest.raises(InvalidValue):
        m.require_env("../../etc")
    with pytest.raises(InvalidValue, match="no public key"):
        parse_manifest(project.root, _data()).public_key("production")
    assert m.spec_or_default("ANYTHING") == VarSpec("ANYTHING")


def test_edit_manifest_keeps_comments(project) -> None:  # type: ignore[no-untyped-def]
    """Schema edits go through tomlkit: a user's comments survive."""
    path = project.root / "envman.toml"
    path.write_text(path.read_text() + "\n# my comment\n")

    def edit(doc: Any) -> None:
        doc.setdefault("variables", {})["NEW_VAR"] = {"type": "int"}

    edit_manifest(project.root, edit)
    assert "# my comment" in path.read_text()
    assert load_manifest(project.root).variables["NEW_VAR"].type == "int"


@settings(deadline=None)
@given(st.builds(
    VarSpec,
    name=st.just("MY_VAR"),
    type=st.sampled_from(["secret", "url", "string", "int"]),
    required=st.booleans(),
    promote=st.sampled_from(["", "move", "keep"]),
    pin=st.lists(st.sampled_from(["test", "production"]), unique=True).map(tuple),
    owner=st.text(max_size=10),
    rotation_days=st.integers(0, 400),
    ignore=st.lists(st.sampled_from(["E008", "E009"]), unique=True).map(tuple),
    export_as=st.dictionaries(st.sampled_from(["vercel", "fly"]), st.from_regex(r"\A[A-Z]{1,5}\Z")),
))
def test_spec_table_round_trip(spec: VarSpec) -> None:
    """A spec written to envman.toml reads back equal."""
    assert spec_from_toml(spec.name, spec_to_table(spec)) == spec


# -- profiles ---------------------------------------------------------------------

VALUES = st.dictionaries(
    st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,10}\Z"),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    max_size=6,
)


@settings(deadline=None, max_examples=60)
@given(values=VALUES, version=st.integers(0, 10**6))
def test_profile_toml_round_trip(values: dict[str, str], version: int) -> None:
    """A profile written as TOML reads back equal, with the same content hash (any text, control chars included)."""
    record = SecretRecord("envman:v1:a:b", "sk-…3333", "fp1:00")
    secrets = {"ZZ_KEY": record}
    values = {k: v for k, v in values.items() if k != "ZZ_KEY"}
    meta = {"ZZ_KEY": VarMeta(owner="alice", rotation_days=30, rotated_at="2026-01-01T00:00:00Z", rollback=record)}
    p = Profile("demo", "test", version, values, secrets, meta, ledger_seq=3, ledger_hash="ab" * 32)
    back = profile_from_toml("environments/test.toml", p.to_toml())
    assert back == p and back.content_hash() == p.content_hash()


def test_content_hash_covers_everything_but_the_ledger_pointer() -> None:
    """Any change of values or metadata changes the hash; the ledger pointer does not."""
    p = Profile("demo", "test", 1, {"A": "1"})
    assert p.content_hash() == p.with_changes(ledger_seq=9, ledger_hash="x").content_hash()
    assert p.content_hash() != p.with_changes(values={"A": "2"}).content_hash()
    assert p.content_hash() != p.with_changes(version=2).content_hash()
    assert p.content_hash() != p.with_changes(meta={"A": VarMeta(owner="bob")}).content_hash()


def test_values_hash_compares_secrets_by_fingerprint() -> None:
    """Two versions holding the same secret (re-encrypted) and values have the same values hash."""
    a = Profile("demo", "test", 1, {"A": "1"}, {"K": SecretRecord("envman:v1:x:1", "m", "fp1:aa")})
    b = Profile("demo", "test", 7, {"A": "1"}, {"K": SecretRecord("envman:v1:y:2", "m", "fp1:aa")})
    assert a.values_hash() == b.values_hash()
    assert a.values_hash() != b.with_changes(values={"A": "2"}).values_hash()


def test_secret_record_repr_hides_ciphertext() -> None:
    """repr() of a SecretRecord and of a Profile shows mask and fingerprint, not the ciphertext."""
    record = SecretRecord("envman:v1:EPHEMERAL:CIPHERTEXTBODY", "sk-…3333", "fp1:aa")
    assert "CIPHERTEXTBODY" not in repr(record)
    assert "CIPHERTEXTBODY" not in repr(Profile("d", "t", 1, secrets={"K": record}))


def test_empty_profile_and_names() -> None:
    """Version 0 has no values; names() lists plain and secret names sorted."""
    e = empty_profile("demo", "test")
    assert e.version == 0 and e.names() == [] and not e.has("A")
    p = Profile("demo", "test", 1, {"B": "1"}, {"A": SecretRecord("c", "m", "f")})
    assert p.names() == ["A", "B"] and p.has("A") and p.has("B")


def _mapping(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"format": 1, "project": "demo", "environment": "test", "version": 1, "values": {"A": "1"},
                            "secrets": {}, "meta": {}, "ledger": {"seq": 1, "hash": "h"}}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"format": 2}, "unknown format"),
        ({"project": 5}, "must be strings"),
        ({"version": True}, "whole number"),
        ({"version": -1}, "whole number"),
        ({"values": {"A": 1}}, "must hold strings"),
        ({"values": {"a": "1"}}, "invalid variable name"),
        ({"values": {"A\n": "1"}}, "invalid variable name"),
        ({"secrets": {"K": {"ciphertext": "c"}}}, "ciphertext, masked and fingerprint"),
        ({"secrets": []}, "must be tables"),
        ({"meta": {"A": {"rotation_days": "9"}}}, "wrong type"),
        ({"meta": {"A": "x"}}, "must be a table"),
        ({"ledger": {"seq": "1"}}, "[ledger]"),
    ],
)
def test_profile_from_mapping_refuses_malformed_profiles(changes: dict[str, Any], why: str) -> None:
    """A malformed profile is a TamperError naming the file and what is wrong."""
    with pytest.raises(TamperError) as info:
        profile_from_mapping("environments/test.toml", _mapping(**changes))
    assert why in str(info.value) and "environments/test.toml" in str(info.value)


@pytest.mark.parametrize("raw", [b"\xef\xbb\xbfformat = 1\n", b"format = [\n", b"\xff\xfe\x00"])
def test_profile_from_toml_refuses_unreadable_bytes(raw: bytes) -> None:
    """BOM, broken TOML and non-UTF-8 bytes are reported as a malformed profile, not a crash."""
    with pytest.raises(TamperError, match="malformed"):
        profile_from_toml("environments/test.toml", raw)


# -- the fast reader for the TOML envman writes ----------------------------------------

read_simple_toml = getattr(__import__("envman.profile", fromlist=["x"]), "read_simple_toml", None)
needs_fast_reader = pytest.mark.skipif(read_simple_toml is None, reason="no fast TOML reader in envman.profile")

SCALARS = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12), st.integers(-(2**70), 2**70),
                    st.booleans(), st.lists(st.text(max_size=5), max_size=3))
KEYS = st.one_of(st.from_regex(r"\A[A-Za-z0-9_-]{1,8}\Z"), st.text(max_size=4))
DOCS = st.recursive(st.dictionaries(KEYS, SCALARS, max_size=4), lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=12)


@needs_fast_reader
@settings(deadline=None, max_examples=100)
@given(doc=DOCS)
def test_fast_reader_agrees_with_tomllib_on_written_files(doc: dict[str, Any]) -> None:
    """For any document tomli_w writes, the fast reader returns what tomllib returns, or None (fall back)."""
    import tomllib

    import tomli_w

    text = tomli_w.dumps(doc)
    fast = read_simple_toml(text)
    assert fast is None or fast == tomllib.loads(text)


LINES = st.lists(st.one_of(
    st.sampled_from(["[a]", "[a.b]", "[b]", "[a.b.c]", "# c", "", " x = 1", "x = 1 ", "x = 1", "x = -0", "x = 01", "y = true",
                     'x = "a"', 'x = "\\u00e9\\n"', 'x = "\\ud800"', 'x = "\\q"', 'x = ["a", "b"]', 'x = ["a","b"]', "x = 1.5",
                     'x = """', 'a = "x" # c', "[ a ]", "a.b = 1", "x = {}", "x = 1_0", "b = false", "[[t]]"]),
    st.builds(lambda k, v: f'{k} = "{v}"', st.from_regex(r"\A[a-z]{1,2}\Z"), st.text(max_size=4)),
), max_size=8)


@needs_fast_reader
@settings(deadline=None, max_examples=150)
@given(lines=LINES)
def test_fast_reader_never_disagrees_with_tomllib(lines: list[str]) -> None:
    """On arbitrary (valid or invalid) TOML-ish text the fast reader either declines or matches tomllib exactly."""
    import tomllib

    text = "\n".join(lines) + "\n"
    fast = read_simple_toml(text)
    if fast is None:
        return
    assert fast == tomllib.loads(text)


@needs_fast_reader
def test_fast_reader_reads_what_envman_writes(seeded) -> None:  # type: ignore[no-untyped-def]
    """Profiles and envman.toml as envman writes them take the fast path."""
    for path in [*(seeded.root / "environments").glob("*.toml"), seeded.root / "envman.toml"]:
        assert read_simple_toml(path.read_text()) is not None, path


# -- the block reader for secrets and meta (large profiles) -------------------------------

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10)
_PLAIN_TEXT = st.text(alphabet="abcXYZ09:-_…é ", max_size=10)
_NAMES = st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,6}\Z")
_RECORDS = st.builds(SecretRecord, _PLAIN_TEXT | _TEXT, _PLAIN_TEXT | _TEXT, _PLAIN_TEXT | _TEXT)
_METAS = st.builds(VarMeta, owner=_PLAIN_TEXT | _TEXT, rotation_method=_PLAIN_TEXT, rotation_days=st.integers(0, 2**40),
                   rotated_at=_PLAIN_TEXT, note=_PLAIN_TEXT | _TEXT, rollback=st.none() | _RECORDS)
_PROFILES = st.builds(
    Profile, project=st.just("demo"), env=st.just("test"), version=st.integers(0, 99),
    values=st.dictionaries(_NAMES, _TEXT, max_size=3), secrets=st.dictionaries(_NAMES, _RECORDS, max_size=6),
    meta=st.dictionaries(_NAMES, _METAS, max_size=6), ledger_seq=st.integers(0, 99), ledger_hash=_PLAIN_TEXT,
)


@pytest.fixture(autouse=True)
def _blocks_for_every_size() -> Iterator[None]:
    """The block reader is used from a size on; here it reads every profile (tomllib is the reference)."""
    with mock.patch.object(envman.blocks, "BLOCKS_FROM", 0):
        yield


def _through_tomllib(raw: bytes) -> Profile:
    return profile_from_mapping("x", tomllib.loads(raw.decode("utf-8")))


@settings(deadline=None, max_examples=200)
@given(profile=_PROFILES)
def test_block_reader_reads_what_tomllib_reads(profile: Profile) -> None:
    """Any profile envman writes reads back equal, and equal to what tomllib reads; plain ones take the block reader."""
    from envman.profile import _read_profile_bytes

    raw = profile.to_toml()
    read = profile_from_toml("x", raw)
    assert read == _through_tomllib(raw) and read.body() == profile.body()  # (empty meta tables are not written)
    plain = all(s.isalnum() for r in profile.secrets.values() for s in r) and not profile.meta
    if plain and profile.secrets:
        blocks = _read_profile_bytes(raw)
        assert blocks is not None and blocks[1] == profile.secrets


@settings(deadline=None, max_examples=150)
@given(profile=_PROFILES, probe=_NAMES)
def test_tables_kept_as_the_file_behave_as_dicts(profile: Profile, probe: str) -> None:
    """Secrets and meta read as runs of blocks: lookups, membership, iteration (repeated), hash and rewrite as with dicts."""
    from envman.blocks import RunTable

    read = profile_from_toml("x", profile.to_toml())
    written = {"secrets": profile.secrets, "meta": {k: m for k, m in profile.meta.items() if m.as_dict()}}
    for key, expected in written.items():
        table = getattr(read, key)
        if isinstance(table, RunTable):
            assert table.run.raw  # kept as the file's bytes
        for _ in range(2):
            assert list(table) == sorted(expected) and len(table) == len(expected)
            assert list(table.items()) == sorted(expected.items()) and list(table.values()) == [expected[k] for k in sorted(expected)]
        assert (probe in table) == (probe in expected) and all(name in table for name in expected)
        assert "BAD]\n[X" not in table and 3 not in table
        if isinstance(table, RunTable):
            assert table._records is None  # membership finds a header, builds no record
        assert table.get(probe) == expected.get(probe)
        for name, record in expected.items():
            assert table[name] == record and name in table
        assert dict(table) == expected and {**table} == expected
    assert read.content_hash() == profile.content_hash() and read.to_toml() == profile.to_toml()
    assert read.with_changes(secrets={**read.secrets, "NEW": SecretRecord("c", "m", "f")}).secrets["NEW"].masked == "m"


_LINE_EDITS = st.sampled_from([
    'extra = "x"', 'masked = "a"b"', 'masked = "" = ""', 'masked = "a\\"b"', 'masked = "a\\qb"', "[secrets.A]", "[secrets.lower]",
    "[meta.A]", "[meta.A.rollback]", 'owner = "o"', "rotation_days = 0", "rotation_days = 5", "rotation_days = -1",
    'note = "\\u00e9"', "", "[secrets]", "[meta]", 'ciphertext = "c"', 'fingerprint = "f"', "[values]", 'A = "1"', "[ledger]",
    'rotated_at = "t"\t', 'masked = "\x01"', 'owner = "a"b"', 'rotated_at = "a" "b"', 'rotation_method = "a"',
])


@settings(deadline=None, max_examples=300)
@given(profile=_PROFILES, edits=st.lists(st.tuples(st.integers(0, 60), st.booleans(), _LINE_EDITS), min_size=1, max_size=3))
def test_block_reader_never_disagrees_with_tomllib(profile: Profile, edits: list[tuple[int, bool, str]]) -> None:
    """A written profile with lines inserted or replaced: read exactly as through tomllib, or refused as tomllib refuses."""
    lines = profile.to_toml().decode().split("\n")
    for at, replace, line in edits:
        i = at % len(lines)
        lines[i:i + int(replace)] = [line]
    raw = "\n".join(lines).encode()
    try:
        expected: Profile | TamperError = _through_tomllib(raw)
    except TamperError as exc:
        expected = exc
    except tomllib.TOMLDecodeError:  # tomllib refuses the text: so must the reader
        expected = TamperError("x", "y")
    try:
        got: Profile | TamperError = profile_from_toml("x", raw)
    except TamperError as exc:
        got = exc
    if isinstance(expected, Profile):
        assert got == expected
    else:
        assert isinstance(got, TamperError)


_WRITTEN = Profile("demo", "test", 1, secrets={"A": SecretRecord("c", "m", "f"), "B": SecretRecord("c2", "m2", "f2")},
                   meta={"A": VarMeta(owner="o", rotation_days=30, rotated_at="t", rollback=SecretRecord("c0", "m0", "f0")),
                         "B": VarMeta(rotated_at="t")}).to_toml().decode()


@pytest.mark.parametrize(("old", "new"), [
    ('owner = "o"', 'owner = "a"b"'), ('owner = "o"', 'owner = "a" "b"'), ('masked = "m"', 'masked = "a"b"'),
    ('masked = "m"', 'masked = "" = ""'), ('masked = "m0"', 'masked = "a"b"'),
    ('fingerprint = "f0"\n\n[meta.B]', 'fingerprint = "f0"\nx = 1\n[meta.B]'),
    ('rotated_at = "t"\n\n[ledger]', 'rotated_at = "t"\nx = "1"\n[ledger]'), ('fingerprint = "f2"\n\n', 'fingerprint = "f2"\nA = "1"\n'),
    ('masked = "m"', 'masked = "a\\"b"'), ('masked = "m"', 'masked = "a\\u00e9b"'), ("[secrets.B]", "[secrets.A]"),
    ("rotation_days = 30", "rotation_days = 030"), ("rotation_days = 30", "rotation_days = 0"), ("[meta.B]", "[meta.b]"),
    ('fingerprint = "f2"\n', 'fingerprint = "f2"\nnote = "n"\n'), ("[meta.A.rollback]", "[meta.B.rollback]"),
    ("[meta.B]", "[meta.C]\nrotation_days = -1\n\n[meta.B]"), ("[meta.B]", "x = \n[meta.B]"), ("[secrets.B]", "x = \n[secrets.B]"),
])
def test_block_reader_hand_edits(old: str, new: str) -> None:
    """Hand edits inside the blocks: read exactly as through tomllib, or refused as tomllib refuses."""
    assert old in _WRITTEN
    raw = _WRITTEN.replace(old, new, 1).encode()
    try:
        expected = _through_tomllib(raw)
    except (tomllib.TOMLDecodeError, TamperError):
        with pytest.raises(TamperError):
            profile_from_toml("x", raw)
        return
    assert profile_from_toml("x", raw) == expected


@settings(deadline=None, max_examples=150)
@given(profile=_PROFILES, chunk=st.integers(1, 4))
def test_content_hash_in_pieces_is_the_hash_of_the_whole_document(profile: Profile, chunk: int) -> None:
    """Hashed piece by piece, the content hash is still SHA-256 of one json.dumps of the body (what the ledger records)."""
    import hashlib
    import json

    whole = json.dumps(profile.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    with mock.patch.object(envman.profile, "_HASH_CHUNK", chunk):
        assert profile.content_hash() == hashlib.sha256(whole).hexdigest()


# -- the block reader for large schemas -------------------------------------------------

_MANIFEST_HEAD = ('[project]\nid = "demo"\nenvironments = ["test", "production"]\nfingerprint_salt = "' + SALT + '"\n\n'
                  '[keys]\ntest = "envman-pk1:x"\n\n')
_VARIABLE_LINES = st.lists(st.sampled_from([
    'type = "secret"', 'type = "url"', 'type = "Secret"', "required = true", "required = false", 'description = "d"',
    'type = "a"b"', "", "x = 1", "[variables]", "[variables.lower]", "[variables.A.sub]", 'type = "string" ',
]), max_size=2)


@settings(deadline=None, max_examples=200)
@given(tables=st.lists(st.tuples(_NAMES, st.sampled_from(["secret", "url", "string"]), st.sampled_from([None, True, False]),
                                 _VARIABLE_LINES), max_size=6),
       tail=st.sampled_from(["", '[backend]\ntype = "files"\n', "[variables.Z]\nrequired = true\n"]))
def test_variables_run_reads_what_tomllib_reads(tables: list[tuple[str, str, bool | None, list[str]]], tail: str) -> None:
    """A schema of envman-written tables (with stray lines mixed in): read exactly as tomllib reads it, or left to it."""
    from envman.manifest import _read_variables_run

    text = _MANIFEST_HEAD
    for name, kind, required, extra in tables:
        text += f'[variables.{name}]\ntype = "{kind}"\n' + ("" if required is None else f"required = {str(required).lower()}\n")
        text += "".join(line + "\n" for line in extra) + "\n"
    text += tail
    try:
        expected: dict[str, Any] | None = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        expected = None
    got = _read_variables_run(text.encode())
    if got is not None:
        data, lazy = got
        assert expected is not None
        specs = {name: spec_from_toml(name, table) for name, table in expected.pop("variables").items()}
        assert data == expected
        for name, spec in specs.items():  # looked up one by one before the table is built
            assert name in lazy and lazy[name] == spec and lazy.get(name) == spec
        assert "NOT_IN_IT" not in lazy and lazy.get("NOT_IN_IT") is None and "bad name]\n" not in lazy
        assert lazy.export_names("dotenv") == {}
        assert dict(lazy) == specs and len(lazy) == len(specs)
    plain = all(not extra for *_, extra in tables) and "[variables" not in tail
    if tables and plain and expected is not None:
        assert got is not None  # what envman writes takes the block reader


def test_large_schema_loads_the_same_through_both_readers(tmp_path: Path) -> None:
    """A 2,000-variable envman.toml loads to the same manifest with and without the block reader."""
    import envman.manifest

    lines = [_MANIFEST_HEAD]
    for i in range(2000):
        lines.append(f'[variables.V_{i:05d}]\ntype = "{("secret", "url", "string")[i % 3]}"\n' + ("required = true\n" if i % 2 else "") + "\n")
    (tmp_path / "envman.toml").write_text("".join(lines))
    fast = load_manifest(tmp_path)
    with mock.patch.object(envman.blocks, "BLOCKS_FROM", 10**9):
        slow = load_manifest(tmp_path)
    assert fast == slow and len(fast.variables) == 2000 and fast.variables["V_00001"].required
    assert envman.manifest._read_variables_run((tmp_path / "envman.toml").read_bytes()) is not None


@pytest.mark.parametrize(("text", "where"), [
    (b'format = 1\nproject = "demo"\n\n[values]\nA = "sk-canary\n', "line 5, column 15"),
    (b'format = 1\n[values]\nA = "sk-canary"tail9"\n', "line 3, column 16"),
    (b'format = 1\n[values]\nA = "sk-canary\xff"\n', "byte 34"),
])
def test_a_profile_that_cannot_be_read_names_where(text: bytes, where: str) -> None:
    """A broken profile file names the line and column (or byte) to look at, never any of its text."""
    with pytest.raises(TamperError) as caught:
        profile_from_toml("environments/test.toml", text)
    assert where in caught.value.message and "canary" not in str(caught.value) and "tail9" not in str(caught.value)


@pytest.mark.parametrize(
    ("keys_table", "kept"),
    [
        ('[keys]\ntest = "envman-pk1:T"\nproduction = "envman-pk1:OLD"\n', None),  # as envman writes it: one line replaced
        ('[keys] # public keys\nproduction   =   "envman-pk1:OLD"   \ntest = "envman-pk1:T"\n', None),
        ('[keys]\ntest = "envman-pk1:T"\nproduction = "envman-pk1:OLD" # rotated 2026\n', "# rotated 2026"),  # tomlkit keeps it
        ("[keys]\ntest = 'envman-pk1:T'\nproduction = 'envman-pk1:OLD'\n", None),  # literal strings: tomlkit
        ('[keys]\ntest = "envman-pk1:T"\n', None),  # no key yet: added
    ],
)
def test_set_public_key_changes_only_that_key(tmp_path: Path, keys_table: str, kept: str | None) -> None:
    import tomllib

    from envman.manifest import set_public_key

    head = '# my project\n[project]\nid = "app"\nenvironments = ["test", "production"]\n\n'
    tail = '\n[variables.PRODUCTION]\ntype = "string"\n# production = "envman-pk1:DECOY"\n'
    path = tmp_path / "envman.toml"
    path.write_text(head + keys_table + tail)
    assert set_public_key(tmp_path, "production", "envman-pk1:NEW") is True
    text = path.read_text()
    data = tomllib.loads(text)
    assert data["keys"] == {"test": "envman-pk1:T", "production": "envman-pk1:NEW"}
    assert text.startswith(head) and text.endswith(tail), "nothing outside [keys] changes"
    if kept:
        assert kept in text
    assert set_public_key(tmp_path, "production", "envman-pk1:NEW") is False
    assert path.read_text() == text
