"""ops.py: the use cases behind the core commands (init, import, set, unset, get, show, status, history)."""

from __future__ import annotations

from pathlib import Path

import pytest
from foundation_helpers import mode, write_env

from envman.errors import InvalidValue, KeyUnavailable, NotFound, UsageError
from envman.manifest import load_manifest
from envman.ops import (
    Project,
    get,
    history,
    import_dotenv,
    init_project,
    parse_dotenv,
    resolve_ref,
    set_var,
    show,
    status,
    unset_var,
)

PROD_KEY = "sk-prod-cccccccccccccccc3333"


# -- init --------------------------------------------------------------------------

def test_init_creates_files_and_private_keys(tmp_path: Path) -> None:
    """init writes envman.toml, environments/ with its .gitignore, and a 0600 keys file holding every env's key."""
    root = tmp_path / "My App"
    root.mkdir()
    result = init_project(root, envs=["dev", "prod"])
    assert result.created and result.envs == ["dev", "prod"]
    manifest = load_manifest(root)
    assert manifest.project == "my-app" and manifest.environments == ("dev", "prod")
    keys = root / ".envman-keys"
    assert result.keys_file == keys and mode(keys) == 0o600
    assert ".envman-keys" in (root / ".gitignore").read_text().splitlines()
    assert ".lock" in (root / "environments" / ".gitignore").read_text()
    from envman.crypto import public_from_private
    from envman.keys import read_keys_file

    stored = read_keys_file(keys)
    assert {public_from_private(stored[f"ENVMAN_PRIVATE_KEY_{e.upper()}"]) for e in ("dev", "prod")} == set(
        manifest.public_keys.values())


def test_init_adds_environments_and_refuses_to_redo(project) -> None:  # type: ignore[no-untyped-def]
    """A second init adds only new environments; with none new it is refused."""
    result = init_project(project.root, envs=["qa", "test"], keys_file=project.keys_file)
    assert not result.created and result.envs == ["qa"]
    assert load_manifest(project.root).environments == ("test", "staging", "production", "qa")
    assert project.private_key("qa").startswith("envman-sk1:") and project.private_key("test")
    with pytest.raises(UsageError, match="already exists"):
        init_project(project.root)


def test_init_refuses_bad_names(tmp_path: Path) -> None:
    """Environment names and project ids are validated before anything is written."""
    with pytest.raises(InvalidValue):
        init_project(tmp_path, envs=["../../etc"])
    with pytest.raises(InvalidValue):
        init_project(tmp_path, project_id="Bad Id")
    assert list(tmp_path.iterdir()) == []


def test_init_never_overwrites_another_projects_key_in_a_keys_file(tmp_path: Path) -> None:
    """A keys file shared with another project keeps that project's keys: init refuses instead."""
    keys = tmp_path / "shared.keys"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    init_project(tmp_path / "a", keys_file=keys)
    before = keys.read_bytes()
    with pytest.raises(UsageError, match="already holds ENVMAN_PRIVATE_KEY_TEST"):
        init_project(tmp_path / "b", keys_file=keys)
    assert keys.read_bytes() == before and not (tmp_path / "b" / "envman.toml").exists()


# -- set / unset / get ----------------------------------------------------------------

def test_set_plain_and_secret(seeded) -> None:  # type: ignore[no-untyped-def]
    """Plain values are stored as text; secrets only as ciphertext with mask and fingerprint."""
    p = seeded.open()
    change = set_var(p, "staging", "AI_LOG_LEVEL", "debug")
    assert (change.entry.event, change.entry.changed, change.profile.version) == ("set", ("AI_LOG_LEVEL",), 2)
    secret = "sk-stag-new0000000000000000"
    change = set_var(p, "staging", "ALLTKN_API_KEY", secret)
    assert change.entry.keys == {"ALLTKN_API_KEY": "sk-…0000"}
    raw = (seeded.root / "environments" / "staging.toml").read_text()
    assert secret not in raw and "envman:v1:" in raw
    assert get(p, "staging", "ALLTKN_API_KEY").value == "sk-…0000"
    assert get(p, "staging", "ALLTKN_API_KEY", reveal=True).value == secret
    meta = change.profile.meta["ALLTKN_API_KEY"]
    assert meta.rollback is not None and meta.rollback.masked == "sk-…2222"  # the replaced key stays restorable


def test_setting_the_same_value_again_is_refused(seeded) -> None:  # type: ignore[no-untyped-def]
    """No empty versions: an unchanged plain value or the same secret again is 'nothing to change'.

    For secrets this also keeps the rotation date and rollback value: re-entering a key is not a rotation.
    """
    p = seeded.open()
    with pytest.raises(UsageError, match="already has this value"):
        set_var(p, "production", "AI_LOG_LEVEL", "info")
    before = p.store.current("production").meta.get("ALLTKN_API_KEY")
    with pytest.raises(UsageError, match="already has this value"):
        set_var(p, "production", "ALLTKN_API_KEY", PROD_KEY)
    assert p.store.current("production").meta.get("ALLTKN_API_KEY") == before
    assert p.store.head().versions["production"] == 1


def test_new_variables_need_a_type(seeded) -> None:  # type: ignore[no-untyped-def]
    """A name outside the schema needs --type (suggesting near misses); a type cannot be changed by set."""
    p = seeded.open()
    with pytest.raises(InvalidValue, match="did you mean ALLTKN_BASE_URL"):
        set_var(p, "test", "ALLTKN_BASEURL", "https://x.example")
    change = set_var(p, "test", "FEATURE_FLAG", "true", new_type="bool")
    assert change.notes == ["added FEATURE_FLAG (type bool) to envman.toml"]
    assert load_manifest(seeded.root).variables["FEATURE_FLAG"].type == "bool"
    with pytest.raises(InvalidValue, match="already has type bool"):
        set_var(p, "test", "FEATURE_FLAG", "x", new_type="string")
    with pytest.raises(InvalidValue, match="not a boolean"):
        set_var(p, "staging", "FEATURE_FLAG", "maybe")


def test_invalid_new_variable_leaves_the_schema_alone(seeded) -> None:  # type: ignore[no-untyped-def]
    """A value that fails its new type is refused before envman.toml is touched."""
    before = (seeded.root / "envman.toml").read_bytes()
    with pytest.raises(InvalidValue):
        set_var(seeded.open(), "test", "NEW_TIMEOUT_MS", "soon", new_type="duration_ms")
    assert (seeded.root / "envman.toml").read_bytes() == before


def test_unset(seeded) -> None:  # type: ignore[no-untyped-def]
    """unset removes a variable as a new version; the ledger keeps the masked key id of a removed secret."""
    p = seeded.open()
    change = unset_var(p, "test", "ALLTKN_API_KEY")
    assert change.entry.keys == {"ALLTKN_API_KEY": "sk-…1111"} and not change.profile.has("ALLTKN_API_KEY")
    with pytest.raises(NotFound, match="not set"):
        unset_var(p, "test", "ALLTKN_API_KEY")
    with pytest.raises(NotFound):
        get(p, "test", "ALLTKN_API_KEY")


def test_get_and_show_by_version(seeded) -> None:  # type: ignore[no-untyped-def]
    """Past versions are readable by number, by ENV@N reference, 'latest'; bad selectors are refused."""
    p = seeded.open()
    set_var(p, "staging", "AI_LOG_LEVEL", "debug")
    assert get(p, "staging", "AI_LOG_LEVEL", version="1").value == "info"
    assert get(p, "staging", "AI_LOG_LEVEL").value == "debug"
    assert resolve_ref(p, "staging@1").values["AI_LOG_LEVEL"] == "info"
    assert resolve_ref(p, "staging@latest").version == 2
    profile, rows = show(p, "staging", version="1")
    assert profile.version == 1 and [r.name for r in rows] == sorted(r.name for r in rows)
    for bad, exc in (("staging@-1", UsageError), ("staging@abc", UsageError), ("staging@0", UsageError),
                     ("staging@99999", NotFound), ("staging@", UsageError), ("staging@good", NotFound),
                     ("nope@1", NotFound), ("../x@1", InvalidValue)):
        with pytest.raises(exc):
            resolve_ref(p, bad)


def test_reveal_without_key_names_both_sources(seeded, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Masked reads need no key; --reveal without one names ENVMAN_PRIVATE_KEY_<ENV> and the keychain."""
    monkeypatch.delenv("ENVMAN_KEYS_FILE")
    p = seeded.open()
    assert get(p, "production", "ALLTKN_API_KEY").value == "sk-…3333"
    with pytest.raises(KeyUnavailable) as info:
        get(p, "production", "ALLTKN_API_KEY", reveal=True)
    assert "ENVMAN_PRIVATE_KEY_PRODUCTION" in str(info.value) and "keychain" in str(info.value)


def test_wrong_key_names_whose_key_it_is(seeded, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A test key given as production's is refused naming where it came from and which environment it belongs to."""
    monkeypatch.setenv("ENVMAN_PRIVATE_KEY_PRODUCTION", seeded.private_key("test"))
    with pytest.raises(KeyUnavailable) as info:
        get(seeded.open(), "production", "ALLTKN_API_KEY", reveal=True)
    text = str(info.value)
    assert "ENVMAN_PRIVATE_KEY_PRODUCTION" in text and "'test'" in text and "production" in text
    assert seeded.private_key("test") not in text


def test_status_and_history(seeded) -> None:  # type: ignore[no-untyped-def]
    """status lists every name across environments; history filters newest first and stops at the limit."""
    p = seeded.open()
    set_var(p, "staging", "AI_LOG_LEVEL", "debug")
    names, envs = status(p)
    assert "ALLTKN_API_KEY" in names and [e.env for e in envs] == ["test", "staging", "production"]
    assert [e.version for e in envs] == [1, 2, 1] and all(e.good is None for e in envs)
    assert [e.seq for e in history(p)] == [4, 3, 2, 1]
    assert [e.seq for e in history(p, "staging")] == [4, 2]
    assert [e.seq for e in history(p, var="AI_LOG_LEVEL", event="set")] == [4]
    assert [e.seq for e in history(p, limit=2)] == [4, 3]
    with pytest.raises(NotFound):
        list(history(p, "nope"))


# -- import ------------------------------------------------------------------------

def test_import_infers_types_and_encrypts_secrets(project) -> None:  # type: ignore[no-untyped-def]
    """A .env file becomes one version: types inferred into envman.toml, secrets encrypted, values exact."""
    path = write_env(project.root / ".env.production",
                     "# comment\nexport ALLTKN_API_KEY='sk-prod-cccccccccccccccc3333'\nALLTKN_BASE_URL=https://api.alltkn.com/api/v1\n"
                     "AI_REQUEST_TIMEOUT_MS=60000  # one minute\nAI_LOG_LEVEL=info\nWORKERS=4\nODD=+-5\nZIP=007\n"
                     'GREETING="hello\\nworld"\nEMPTY=\n')
    change = import_dotenv(project.open(), path, "production")
    assert change.entry.event == "import" and change.entry.detail == {"source": ".env.production"}
    manifest = load_manifest(project.root)
    assert {n: s.type for n, s in manifest.variables.items()} == {
        "ALLTKN_API_KEY": "secret", "ALLTKN_BASE_URL": "url", "AI_REQUEST_TIMEOUT_MS": "duration_ms",
        "AI_LOG_LEVEL": "log_level", "WORKERS": "int", "ODD": "string", "ZIP": "string", "GREETING": "string",
        "EMPTY": "string"}
    assert all(s.required for s in manifest.variables.values())
    p = project.open()
    assert get(p, "production", "GREETING").value == "hello\nworld"
    assert get(p, "production", "AI_REQUEST_TIMEOUT_MS").value == "60000"
    assert get(p, "production", "ALLTKN_API_KEY", reveal=True).value == PROD_KEY
    assert PROD_KEY not in (project.root / "environments" / "production.toml").read_text()
    with pytest.raises(UsageError, match="already holds exactly these values"):
        import_dotenv(project.open(), path, "production")


def test_import_refuses_an_empty_secret(project) -> None:  # type: ignore[no-untyped-def]
    """`OPENAI_API_KEY=` is refused: adding it as a plain string would store the real key unencrypted later."""
    path = write_env(project.root / ".env", "OPENAI_API_KEY=\nA=1\n")
    before = project.snapshot()
    with pytest.raises(InvalidValue, match="OPENAI_API_KEY looks like a secret but its value is empty"):
        import_dotenv(project.open(), path, "test")
    assert project.snapshot() == before


def test_import_checks_values_against_the_existing_schema(seeded) -> None:  # type: ignore[no-untyped-def]
    """Names already in the schema keep their type: a wrong value is refused with file and line."""
    path = write_env(seeded.root / ".env", "AI_LOG_LEVEL=info\nAI_REQUEST_TIMEOUT_MS=soon\n")
    with pytest.raises(InvalidValue, match=r"\.env:2: AI_REQUEST_TIMEOUT_MS"):
        import_dotenv(seeded.open(), path, "test")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("A=1\nA=2\n", "already set on line 1"),
        ("A\n", "has no '=value'"),
        ("lower=1\n", "invalid variable name"),
        ("A='open\n", "not a NAME=value line"),
        ("", None),
    ],
)
def test_parse_dotenv_is_strict(tmp_path: Path, text: str, why: str | None) -> None:
    """Duplicate names, missing '=', invalid names and unparsable lines are refused with the line number."""
    path = write_env(tmp_path / ".env", text)
    if why is None:
        assert parse_dotenv(path) == []
        return
    with pytest.raises(InvalidValue, match=why):
        parse_dotenv(path)


@pytest.mark.parametrize(
    ("raw", "why"),
    [(b"\xef\xbb\xbfA=1\n", "byte-order mark"), (b"A=1\r\n", "CRLF"), (b"A=1\x00\n", "NUL"), (b"A=\xff\n", "not UTF-8")],
)
def test_parse_dotenv_refuses_unreadable_bytes(tmp_path: Path, raw: bytes, why: str) -> None:
    """BOM, CRLF, NUL and non-UTF-8 bytes are refused naming the file."""
    (tmp_path / ".env").write_bytes(raw)
    with pytest.raises(InvalidValue, match=why):
        parse_dotenv(tmp_path / ".env")


def test_import_of_a_missing_file(project) -> None:  # type: ignore[no-untyped-def]
    """A missing file is a NotFound, not an OSError."""
    with pytest.raises(NotFound, match="does not exist"):
        import_dotenv(project.open(), project.root / "nope.env", "test")


def test_project_open_uses_cwd_or_envman_project(project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Project.open() finds the project from the cwd, or from ENVMAN_PROJECT anywhere."""
    assert Project.open().manifest.root == project.root
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENVMAN_PROJECT", str(project.root))
    assert Project.open().manifest.project == "demo-app"
