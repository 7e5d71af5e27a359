"""Property tests through the CLI: .env import and set → get return every value exactly (or refuse with exit 2)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envman.ops import init_project
from envman.schema import FALSE_WORDS, LOG_LEVELS, MAX_INT, TRUE_WORDS, looks_secret

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
TRICKY = st.sampled_from([
    "", "true", "+-5", "007", "-0", "9" * 25, "https://api.alltkn.com/api/v1", "60000", "info", "a#b", " #x", "'", '"',
    "\\", "\\n", "${HOME}", "=", "a=b", "export X=1", " padded ", "multi\nline", "tab\there", "crlf\r\nin value",
    "ünïcödé ✓", "sk-…3333", "# not a comment",
])
NAMES = st.one_of(st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,12}\Z"),
                  st.sampled_from(["ALLTKN_API_KEY", "DB_PASSWORD", "GH_TOKEN", "AI_LOG_LEVEL", "REQUEST_TIMEOUT_MS",
                                   "ALLTKN_DEFAULT_MODEL", "ALLTKN_BASE_URL"]))
SAFE_UNQUOTED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:@+,%-")


def dotenv_line(name: str, value: str, style: str, export: bool, comment: bool) -> str:
    """One .env line in python-dotenv's syntax; the chosen quoting falls back to double quotes when it cannot hold the value."""
    if style == "bare" and set(value) <= SAFE_UNQUOTED:
        encoded = value
        comment = comment and value != ""
    elif style == "single":
        encoded = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    else:
        body = value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r")
        encoded = '"' + (body.replace("\n", "\\n") if style == "double-escaped" else body) + '"'
    return ("export " if export else "") + f"{name}={encoded}" + ("  # note" if comment else "") + "\n"


ENTRIES = st.dictionaries(
    NAMES,
    st.tuples(st.one_of(TEXT, TRICKY), st.sampled_from(["bare", "single", "double", "double-escaped"]), st.booleans(), st.booleans()),
    min_size=1, max_size=4,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(entries=ENTRIES)
def test_dotenv_import_round_trips_exactly_or_refuses(cli: Any, entries: dict[str, tuple[str, str, bool, bool]]) -> None:
    """Any .env file written with python-dotenv quoting imports so that `get --reveal --json` returns each value
    exactly; the only refusals (exit 2, one line) are raw CR bytes, an empty secret, and nothing else."""
    text = "".join(dotenv_line(name, value, style, export, comment) for name, (value, style, export, comment) in entries.items())
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        root, keys = Path(tmp) / "app", Path(tmp) / "keys"
        root.mkdir()
        init_project(root, project_id="prop", keys_file=keys)
        (root / ".env").write_bytes(text.encode("utf-8"))
        env = {"ENVMAN_KEYS_FILE": str(keys)}
        os.chdir(root)
        try:
            result = cli("import", ".env", "--env", "test", "--json", env=env)
            expected_refusal = "\r" in text or any(v == "" and looks_secret(n) for n, (v, *_) in entries.items())
            if expected_refusal:
                assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
                assert "Traceback" not in result.output
                return
            assert result.exit_code == 0, (text, result.output)
            for name, (value, *_) in entries.items():
                got = cli("get", "test", name, "--reveal", "--json", env=env)
                assert got.exit_code == 0, got.output
                assert json.loads(got.stdout)["value"] == value, (name, text)
        finally:
            os.chdir(cwd)


# -- set → get for every type -------------------------------------------------------

def _cased(words: frozenset[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(words)).flatmap(lambda w: st.sampled_from([w, w.upper(), w.capitalize()]))


HOST = st.from_regex(r"\A[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){1,2}\Z")
VALUES: dict[str, st.SearchStrategy[str]] = {
    "secret": st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=60)
    .filter(lambda v: not v.endswith("\r")),
    "url": st.tuples(st.sampled_from(["https", "http"]), HOST, st.from_regex(r"\A(/[a-zA-Z0-9._~-]{1,8}){0,3}\Z"))
    .map(lambda t: f"{t[0]}://{t[1]}{t[2]}"),
    "model": st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=30)
    .filter(lambda v: not any(c.isspace() for c in v)),
    "duration_ms": st.tuples(st.integers(1, MAX_INT), st.sampled_from(["", "0", "00"])).map(lambda t: t[1] + str(t[0])),
    "log_level": _cased(LOG_LEVELS),
    "string": st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60),
    "int": st.tuples(st.integers(-MAX_INT - 1, MAX_INT), st.sampled_from(["", "+"])).map(
        lambda t: (t[1] if t[0] >= 0 else "") + str(t[0])),
    "bool": _cased(TRUE_WORDS | FALSE_WORDS),
}


def _ensure_schema(root: Path) -> None:
    path = root / "envman.toml"
    text = path.read_text()
    if "[variables.P_SECRET]" not in text:
        path.write_text(text + "".join(f'\n[variables.P_{t.upper()}]\ntype = "{t}"\n' for t in VALUES))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), typ=st.sampled_from(sorted(VALUES)), how=st.sampled_from(["argv-or-stdin", "from-file"]))
def test_set_then_get_returns_the_value_for_every_type(seeded: Any, cli: Any, data: st.DataObject, typ: str, how: str) -> None:
    """For every type, a valid value set through the CLI (secrets via stdin or a file, never argv) reads back exactly."""
    _ensure_schema(seeded.root)
    value = data.draw(VALUES[typ], label="value")
    name = f"P_{typ.upper()}"
    if how == "from-file":
        path = seeded.root / "value.txt"
        path.write_bytes((value + "\n").encode("utf-8"))
        result = cli("set", "staging", name, "--from-file", str(path))
        os.unlink(path)
    elif typ == "secret":
        result = cli("set", "staging", name, input=value + "\n")
    else:
        result = cli("set", "staging", name, "--", value)
    if result.exit_code == 2 and "already has this value" in result.stderr:
        pass  # drawn twice in a row: nothing to change, which is itself correct
    else:
        assert result.exit_code == 0, (value, result.output)
    got = cli("get", "staging", name, "--reveal", "--json")
    assert got.exit_code == 0, got.output
    row = json.loads(got.stdout)
    assert row["value"] == value and row["secret"] is (typ == "secret")
    if typ == "secret" and len(value) >= 8:
        masked = cli("get", "staging", name, "--json")
        assert value not in masked.stdout
