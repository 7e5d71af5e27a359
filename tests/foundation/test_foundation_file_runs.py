"""A large profile's tables read again from the open file in pieces: the same tables as from its bytes, and safe against edits."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import envman.blocks
import envman.filerun
from envman.blocks import Run, RunTable
from envman.errors import TamperError
from envman.filerun import FileRun, OpenFile, _last_block_start
from envman.ledger import Entry, MaskedIds, encode
from envman.profile import Profile, SecretRecord, VarMeta, profile_from_toml

_NAMES = st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,6}\Z")
_PLAIN = st.text(alphabet="abcXYZ09:-_…é ", max_size=10)
_LONG = st.text(alphabet="abcXYZ09", min_size=100, max_size=400)  # longer than a piece: the piece grows
_RECORDS = st.builds(SecretRecord, _PLAIN | _LONG, _PLAIN, _PLAIN)
_METAS = st.builds(VarMeta, owner=_PLAIN, rotation_method=_PLAIN, rotation_days=st.integers(0, 999), rotated_at=_PLAIN, note=_PLAIN,
                   rollback=st.none() | _RECORDS)
_PROFILES = st.builds(
    Profile, project=st.just("demo"), env=st.just("test"), version=st.integers(0, 9),
    values=st.dictionaries(_NAMES, _PLAIN, max_size=3), secrets=st.dictionaries(_NAMES, _RECORDS, max_size=8),
    meta=st.dictionaries(_NAMES, _METAS, max_size=8),
)


@pytest.fixture(autouse=True)
def _file_runs_for_every_size() -> Iterator[None]:
    """Every profile is read through the block reader and kept as its open file, read in tiny pieces."""
    with mock.patch.object(envman.blocks, "BLOCKS_FROM", 0), mock.patch.object(envman.blocks, "FILE_RUNS_FROM", 0), \
            mock.patch.object(envman.filerun, "PIECE", 64):
        yield


def _read_open(path: Path) -> Profile:
    raw = path.read_bytes()
    return profile_from_toml(path.name, raw, OpenFile(os.open(path, os.O_RDONLY), path.name))


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(profile=_PROFILES, probe=_NAMES, piece=st.integers(1, 300))
def test_tables_read_from_the_open_file_are_the_tables_written(tmp_path: Path, profile: Profile, probe: str, piece: int) -> None:
    """Lookups, membership, iteration (repeated), hash and rewrite as from the bytes, whatever the piece size."""
    path = tmp_path / "test.toml"
    path.write_bytes(profile.to_toml())
    with mock.patch.object(envman.filerun, "PIECE", piece):
        read = _read_open(path)
        written = {"secrets": profile.secrets, "meta": {k: m for k, m in profile.meta.items() if m.as_dict()}}
        for key, expected in written.items():
            table = getattr(read, key)
            if expected:  # written without escapes: always the block reader
                assert isinstance(table, RunTable) and isinstance(table.run, FileRun)
            for _ in range(2):
                assert list(table) == sorted(expected) and len(table) == len(expected)
                assert list(table.items()) == sorted(expected.items())
            assert (probe in table) == (probe in expected) and all(name in table for name in expected)
            assert table.get(probe) == expected.get(probe) and dict(table) == expected
        assert read.content_hash() == profile.content_hash() and read.to_toml() == profile.to_toml()


def test_a_piece_ends_before_a_block_never_before_a_sub_table() -> None:
    data = b'\n[meta.A]\nowner = "o"\n\n[meta.A.rollback]\nciphertext = "c"\n'
    assert _last_block_start(data, b"meta") == 0  # the only other header is A's rollback table, inside A's block
    data += b'\n[meta.B]\nnote = "n"\n'
    assert data[_last_block_start(data, b"meta"):].startswith(b"[meta.B]")
    assert _last_block_start(data, b"secrets") == 0
    for cut in range(1, 12):  # a header cut by the end of the piece may be a sub-table's: not a place to end
        assert _last_block_start(data + b"\n[meta.B.rollback]\n"[:cut], b"meta") == data.index(b"[meta.B]")


def _large_profile(tmp_path: Path) -> Path:
    secrets = {f"K{i:03}": SecretRecord(f"cipher{i}", f"m{i}", f"fp{i}") for i in range(50)}
    path = tmp_path / "production.toml"
    path.write_bytes(Profile("demo", "production", 1, secrets=secrets).to_toml())
    return path


def test_an_edit_in_place_while_reading_is_refused(tmp_path: Path) -> None:
    """Another program writing into the file between two uses: the next use fails instead of mixing two contents."""
    path = _large_profile(tmp_path)
    read = _read_open(path)
    assert len(dict(read.secrets.items())) == 50
    with path.open("r+b") as fh:  # same size, new time
        fh.seek(path.read_bytes().index(b"cipher7"))
        fh.write(b"CIPHER7")
    os.utime(path, ns=(1, 1))
    with pytest.raises(TamperError, match=r"production\.toml was changed while envman was reading it"):
        list(read.secrets.items())


def test_a_file_cut_short_while_reading_is_refused(tmp_path: Path) -> None:
    path = _large_profile(tmp_path)
    read = _read_open(path)
    os.truncate(path, 200)
    with pytest.raises(TamperError, match=r"production\.toml was (changed|cut short)"):
        dict(read.secrets.items())


def test_a_file_replaced_whole_is_still_read_as_it_was(tmp_path: Path) -> None:
    """envman writes a new file and renames it over the old one: a reader keeps the content it checked."""
    path = _large_profile(tmp_path)
    read = _read_open(path)
    before = dict(read.secrets.items())
    new = tmp_path / "new.toml"
    new.write_bytes(Profile("demo", "production", 2, secrets={"OTHER": SecretRecord("c", "m", "f")}).to_toml())
    os.replace(new, path)
    assert dict(read.secrets.items()) == before and "K007" in read.secrets and "OTHER" not in read.secrets


def test_the_file_is_closed_with_the_last_table(tmp_path: Path) -> None:
    path = _large_profile(tmp_path)
    gc.collect()
    fds = _open_fds()
    read = _read_open(path)
    secrets = read.secrets
    assert _open_fds() == fds + 1
    del read
    gc.collect()
    assert _open_fds() == fds + 1 and len(list(secrets)) == 50  # a table still reads it
    del secrets
    gc.collect()
    assert _open_fds() == fds


def test_the_store_keeps_large_profiles_as_their_open_file(seeded) -> None:  # type: ignore[no-untyped-def]
    """Through the file store: only files from FILE_RUNS_FROM bytes on are kept open; smaller ones are held as bytes."""
    from envman.ops import Project

    project = Project.open(seeded.root)
    current = project.store.current("production")
    assert isinstance(current.secrets, RunTable) and isinstance(current.secrets.run, FileRun)
    assert current.secrets["ALLTKN_API_KEY"].masked.startswith("sk-")
    with mock.patch.object(envman.blocks, "FILE_RUNS_FROM", 10**9):
        held = project.store.current("production")
    assert isinstance(held.secrets, RunTable) and not isinstance(held.secrets.run, FileRun)
    assert dict(held.secrets) == dict(current.secrets) and held.content_hash() == current.content_hash()


# -- masked ids kept as the ledger's JSON ------------------------------------------------

@settings(deadline=None, max_examples=150)
@given(keys=st.dictionaries(_NAMES, st.text(max_size=12), max_size=12), chunk=st.integers(1, 4))
def test_masked_ids_encode_as_the_dict_would(keys: dict[str, str], chunk: int) -> None:
    """A ledger entry with MaskedIds is the line (and hash) the same entry with a dict makes, and reads back as it."""
    with mock.patch.object(MaskedIds, "_CHUNK", chunk):
        ids = MaskedIds()
        for name, masked in keys.items():
            ids.add(name, masked)
    assert ids == keys and len(ids) == len(keys) and dict(ids) == keys and bool(ids) == bool(keys)
    entry = Entry(seq=1, time="t", actor='a "keys":{} b', event="export", env="test", version=1, changed=("keys",),
                  profile="p", detail={"keys": {}})
    line, digest = encode(entry._replace(keys=ids))
    assert (line, digest) == encode(entry._replace(keys=keys))
    assert json.loads(line)["keys"] == keys and json.loads(line)["actor"] == 'a "keys":{} b'
    assert repr(ids) == f"MaskedIds({len(keys)} ids)"


def test_masked_ids_read_as_a_mapping_parse_once() -> None:
    """Looking ids up (a library caller, a test) parses the JSON once, not once per name; an add is seen after."""
    ids = MaskedIds()
    for i in range(5000):
        ids.add(f"K{i:04}", f"sk-…{i:04}")
    assert dict(ids) == {f"K{i:04}": f"sk-…{i:04}" for i in range(5000)}  # quadratic parsing would take minutes
    assert ids["K0042"] == "sk-…0042" and "K4999" in ids and "K5000" not in ids
    ids.add("K5000", "m")
    assert ids["K5000"] == "m" and len(ids) == 5001
    entry = Entry(seq=1, time="t", actor="a", event="export", keys=ids)
    assert json.loads(json.dumps(entry.as_dict()))["keys"]["K5000"] == "m"


def test_many_membership_questions_read_the_file_twice(tmp_path: Path) -> None:
    """One question scans the run; a loop of them (check asks about every name) reads the names once, not a scan each."""
    path = _large_profile(tmp_path)
    read = _read_open(path)
    scans = []
    real = FileRun.pieces

    def counted(self: FileRun) -> Iterator[Run]:
        scans.append(1)
        return real(self)

    with mock.patch.object(FileRun, "pieces", counted):
        assert "K007" in read.secrets
        assert len(scans) == 1
        assert all(f"K{i:03}" in read.secrets for i in range(50)) and "K050" not in read.secrets and 7 not in read.secrets
    assert len(scans) == 2


@pytest.mark.parametrize("open_file", [False, True], ids=["bytes", "open file"])
def test_lookups_build_one_record_until_a_loop_asks(tmp_path: Path, open_file: bool) -> None:
    """`get` asks for one variable a few times: only its block is built; the ONE_BY_ONE+1st distinct name builds the table once."""
    path = _large_profile(tmp_path)
    read = _read_open(path) if open_file else profile_from_toml("x", path.read_bytes())
    table = read.secrets
    assert isinstance(table, RunTable) and isinstance(table.run, FileRun) == open_file
    built: list[tuple[bytes, ...]] = []
    real = table._build

    def counting(groups: tuple[bytes, ...]) -> SecretRecord:
        built.append(groups)
        return real(groups)

    table._build = counting
    for _ in range(3):
        assert table["K007"] == SecretRecord("cipher7", "m7", "fp7") and table.get("K007").masked == "m7" and "K007" in table
    assert table.get("NOPE") is None and "NOPE" not in table and len(built) == 1
    with pytest.raises(KeyError):
        table["NOPE"]
    for i in range(envman.blocks.ONE_BY_ONE - 2):
        assert table[f"K{i + 10:03}"].masked == f"m{i + 10}"
    assert len(built) == envman.blocks.ONE_BY_ONE - 1 and table._records is None
    assert table["K049"].fingerprint == "fp49"  # one name too many: every record, once
    assert table._records is not None and len(built) == envman.blocks.ONE_BY_ONE - 1 + 50
    assert dict(table) == {f"K{i:03}": SecretRecord(f"cipher{i}", f"m{i}", f"fp{i}") for i in range(50)}
