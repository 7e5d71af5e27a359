"""Export items are made as they are consumed: the same from a large profile file (tables kept as bytes) as from dicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import envman.blocks
import envman.errors
import envman.filerun
import envman.profile
from envman.blocks import RunTable
from envman.export import export_items, selection
from envman.ops import Project
from envman.profile import Profile, VarMeta, profile_from_toml

_NAMES = st.from_regex(r"\A[A-Z][A-Z0-9_]{0,5}\Z")
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12)


def _read(profile: Profile, *, blocks: bool) -> Profile:
    with mock.patch.object(envman.blocks, "BLOCKS_FROM", 0 if blocks else 10**9):
        return profile_from_toml("x", profile.to_toml())


@pytest.fixture
def opened(seeded) -> Iterator[Project]:  # type: ignore[no-untyped-def]
    yield Project.open(seeded.root)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    secrets=st.dictionaries(_NAMES, _TEXT, max_size=8), values=st.dictionaries(_NAMES, _TEXT, max_size=5),
    owners=st.dictionaries(_NAMES, _TEXT, max_size=4), data=st.data(),
)
def test_items_keys_and_hash_do_not_depend_on_how_the_file_was_read(
    opened: Project, secrets: dict[str, str], values: dict[str, str], owners: dict[str, str], data: st.DataObject,
) -> None:
    """Items, masked ids, count and content hash of an export are the same from a file read as runs of blocks and as dicts."""
    project = opened
    values = {k: v for k, v in values.items() if k not in secrets}
    sealed = {k: project.seal("production", k, v)._replace(fingerprint="fp1:00") for k, v in secrets.items()}
    profile = Profile("demo", "production", 3, values=values, secrets=sealed,
                      meta={k: VarMeta(owner=o, rollback=sealed.get(k)) for k, o in owners.items()})
    names = sorted({*values, *secrets})
    only = data.draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    exclude = data.draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    target = data.draw(st.sampled_from(["dotenv", "k8s-secret", "k8s-configmap", "json"]))
    sel = selection(only=only, exclude=exclude, secrets=data.draw(st.booleans()), target=target)
    runs, dicts = _read(profile, blocks=True), _read(profile, blocks=False)
    assert not isinstance(dicts.secrets, RunTable)
    got = []
    for read in (runs, dicts):
        export = export_items(project, read, sel)
        items = list(export.items)
        got.append((items, export.keys, export.count, export.content_hash))
    assert got[0] == got[1]
    items, keys, count, content_hash = got[0]
    assert content_hash == profile.content_hash() and count == len(items)
    assert [i.name for i in items] == sorted(i.name for i in items)
    assert keys == {i.name: sealed[i.name].masked for i in items if i.secret}
    assert {i.name: i.value for i in items if i.secret} == {k: secrets[k] for k in keys}


def test_a_name_set_both_plain_and_secret_is_exported_once_as_the_secret(opened: Project) -> None:
    """A hand edit can leave a name in [values] and [secrets]: it is exported once, as the secret, as `get` shows it."""
    project = opened
    record = project.seal("production", "B", "the-secret-value")
    profile = Profile("demo", "production", 1, values={"A": "1", "B": "plain", "D": "4"}, secrets={"B": record, "C": record})
    export = export_items(project, profile, selection(secrets=False))
    assert [(i.name, i.value) for i in export.items] == [("A", "1"), ("D", "4")]
    assert export.content_hash == profile.content_hash()
    with pytest.raises(envman.errors.TamperError, match="C"):  # C holds B's ciphertext: bound to B
        list(export_items(project, profile, selection()).items)


@pytest.mark.parametrize("read", ["dicts", "blocks", "open file"])
def test_cli_export_with_renames_reads_either_way(seeded, cli, read: str) -> None:  # type: ignore[no-untyped-def]
    """Service renames, --only and the ledger entry, with the profile read as dicts, runs of blocks, or from the open file."""
    with (seeded.root / "envman.toml").open("a") as fh:
        fh.write('\n[exports.web]\nformat = "json"\nrename = { OPENAI_API_KEY = "ALLTKN_API_KEY", OPENAI_BASE_URL = "ALLTKN_BASE_URL" }\n')
    with mock.patch.object(envman.blocks, "BLOCKS_FROM", 10**9 if read == "dicts" else 0), \
            mock.patch.object(envman.blocks, "FILE_RUNS_FROM", 0 if read == "open file" else 10**9), \
            mock.patch.object(envman.filerun, "PIECE", 100):
        r = cli("export", "production", "--service", "web", "--exclude", "AI_LOG_LEVEL")
        assert r.exit_code == 0, r.stderr
        out = json.loads(r.stdout)
        entry = json.loads(cli("history", "production", "--event", "export", "--json").stdout)[0]
        current = Project.open(seeded.root).store.current("production")
    assert "OPENAI_API_KEY" in out and "ALLTKN_API_KEY" not in out and "AI_LOG_LEVEL" not in out
    assert entry["profile"] == current.content_hash() and entry["detail"]["count"] == len(out)
    assert entry["keys"] == {"ALLTKN_API_KEY": current.secrets["ALLTKN_API_KEY"].masked}


@pytest.mark.parametrize("args", [["--only", "ALLTKN_BASE_URL,AI_LOG_LEVEL"], ["--exclude", "ALLTKN_API_KEY"],
                                  ["--format", "k8s-configmap"]])
def test_no_key_needed_when_no_secret_is_included(seeded, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Leaving every secret out by --only, --exclude or the target needs no private key, as --no-secrets does."""
    import os
    import subprocess

    from tests.conftest import ENVMAN_BIN

    env = {k: v for k, v in os.environ.items() if k != "ENVMAN_KEYS_FILE"}
    fmt = [] if "--format" in args else ["--format", "json"]
    proc = subprocess.run([ENVMAN_BIN, "export", "production", *fmt, *args], cwd=seeded.root, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "ALLTKN_BASE_URL" in proc.stdout and "sk-" not in proc.stdout
    with_secret = subprocess.run([ENVMAN_BIN, "export", "production", "--format", "json", "--only", "ALLTKN_API_KEY"],
                                 cwd=seeded.root, env=env, capture_output=True, text=True)
    assert with_secret.returncode == 2 and "--no-secrets" in with_secret.stderr


def test_a_rename_onto_an_exported_name_is_refused(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """The export itself makes sure each name comes once (the encoders then keep no set of names): a clash is refused."""
    with (seeded.root / "envman.toml").open("a") as fh:
        fh.write('\n[exports.web]\nformat = "dotenv"\nrename = { AI_LOG_LEVEL = "ALLTKN_BASE_URL" }\n')
    r = cli("export", "production", "--service", "web", "--no-secrets")
    assert r.exit_code == 2 and r.stdout == ""
    assert "exported name AI_LOG_LEVEL comes from both" in r.stderr and "Traceback" not in r.stderr
    fine = cli("export", "production", "--service", "web", "--no-secrets", "--exclude", "AI_LOG_LEVEL")
    assert fine.exit_code == 0 and fine.stdout.count("AI_LOG_LEVEL=") == 1 and "ALLTKN_BASE_URL" not in fine.stdout
