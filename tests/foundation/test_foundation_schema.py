"""schema.py and names.py: names, types, value validation, type inference, near-miss names."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from envman.errors import InvalidValue
from envman.names import is_near_miss, near_misses
from envman.schema import (
    MAX_INT,
    VarSpec,
    check_env_name,
    check_var_name,
    coerce,
    infer_type,
    is_env_name,
    is_project_id,
    is_var_name,
    looks_secret,
    spec_from_toml,
    url_problem,
    validate_value,
)

ENV_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")
VAR_RE = re.compile(r"[A-Z_][A-Z0-9_]*")
CANARY = "sk-canary-5c1f0e2d9b8a7c6d5e4f"


# -- names ------------------------------------------------------------------------

def _accepted_iff_whole_match(check: Callable[[str], str], pattern: re.Pattern[str], name: str, refusal: str) -> None:
    """``check`` returns ``name`` unchanged when the whole of it matches ``pattern``, else raises InvalidValue(``refusal``)."""
    if pattern.fullmatch(name) is not None:
        assert check(name) == name
    else:
        with pytest.raises(InvalidValue, match=refusal):
            check(name)


@settings(deadline=None)
@given(st.from_regex(r"\A[a-z][a-z0-9-]{0,31}\Z"))
def test_every_valid_env_name_is_accepted(name: str) -> None:
    """Any name matching ^[a-z][a-z0-9-]{0,31}$ is an environment name."""
    assert check_env_name(name) == name


ODD_ENV_NAMES = ["test\n", "../../etc", ".", "", "Test", "prodаction", "a" * 33, "1abc", "a_b", "production@2"]
ODD_VAR_NAMES = ["A\n", "a", "lower_case", "1ABC", "../../etc", "", "АLLTKN_API_KEY", "ALLTKN_API_KEY\u200b", "ＡPI_KEY",
                 "A-B", "A B", "A\x00"]


@settings(deadline=None)
@given(st.one_of(st.text(max_size=40), st.sampled_from(ODD_ENV_NAMES)))
def test_env_name_accepted_exactly_when_it_matches_the_whole_pattern(name: str) -> None:
    """Arbitrary text is accepted iff the whole string matches; a trailing newline never passes."""
    _accepted_iff_whole_match(check_env_name, ENV_RE, name, "invalid environment name")


@settings(deadline=None)
@given(st.from_regex(r"\A[A-Z_][A-Z0-9_]*\Z"))
def test_every_valid_var_name_is_accepted(name: str) -> None:
    """Any name matching ^[A-Z_][A-Z0-9_]*$ is a variable name."""
    assert check_var_name(name) == name


@settings(deadline=None)
@given(st.one_of(st.text(max_size=30), st.sampled_from(ODD_VAR_NAMES)))
def test_var_name_accepted_exactly_when_it_matches_the_whole_pattern(name: str) -> None:
    """`A\\n`, lower case, a leading digit, '../', Cyrillic or full-width look-alikes are refused."""
    _accepted_iff_whole_match(check_var_name, VAR_RE, name, "invalid variable name")


@pytest.mark.parametrize(
    ("name", "secret"),
    [("ALLTKN_API_KEY", True), ("GITHUB_TOKEN", True), ("DB_PASSWORD", True), ("MYPASSWORD", True),
     ("AWS_SECRET_ACCESS_KEY", True), ("GOOGLE_CREDENTIALS", True), ("KEY", True), ("SSH_PRIVATE", True),
     ("ALLTKN_BASE_URL", False), ("KEYBOARD_LAYOUT", False), ("MONKEY", False), ("AI_LOG_LEVEL", False)],
)
def test_looks_secret_follows_naming_conventions(name: str, secret: bool) -> None:
    """Credential-like names (…_KEY, …_TOKEN, …PASSWORD…) are secrets; look-alike words are not."""
    assert looks_secret(name) is secret


_NAME_TEXT = st.one_of(st.text(max_size=40), st.text(alphabet="abcxyzABCXYZ019_-.\n", max_size=70),
                      st.sampled_from(ODD_ENV_NAMES + ODD_VAR_NAMES))


@settings(deadline=None)
@given(_NAME_TEXT)
def test_name_checks_agree_with_the_patterns(name: str) -> None:
    """The str-method name checks accept exactly what the documented patterns match in whole."""
    assert is_env_name(name) is bool(re.fullmatch(r"[a-z][a-z0-9-]{0,31}", name))
    assert is_var_name(name) is bool(re.fullmatch(r"[A-Z_][A-Z0-9_]*", name))
    assert is_project_id(name) is bool(re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", name))


_WORDS = st.sampled_from(["KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "CREDENTIALS",
                          "PRIVATE", "API", "KEYS", "MONKEY", "X", "", "PASSWORDS", "A1"])


@given(st.lists(_WORDS, max_size=5).map("_".join) | st.text(alphabet="AEKPSWY_D", max_size=20))
def test_looks_secret_agrees_with_the_naming_pattern(name: str) -> None:
    """A credential word as a whole '_'-separated part, or PASSWORD anywhere: the rule as a pattern."""
    pattern = r"(^|_)(KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIALS?|PRIVATE)(_|\Z)|PASSWORD"
    assert looks_secret(name) is bool(re.search(pattern, name))


# -- values -----------------------------------------------------------------------

VALID = [
    ("secret", "sk-anything at all\nwith lines"),
    ("secret", " padded "),
    ("url", "https://api.alltkn.com/api/v1"),
    ("url", "http://127.0.0.1:8080"),
    ("model", "deepseek-chat"),
    ("duration_ms", "60000"),
    ("duration_ms", "1"),
    ("duration_ms", "0060000"),
    ("log_level", "info"),
    ("log_level", "WARNING"),
    ("string", ""),
    ("string", "  any text\twith\nlines and ünïcödé  "),
    ("int", "0"),
    ("int", "-42"),
    ("int", "+7"),
    ("int", str(MAX_INT)),
    ("int", str(-MAX_INT - 1)),
    ("bool", "true"),
    ("bool", "OFF"),
    ("bool", "1"),
]

INVALID = [
    ("secret", "", "cannot be empty"),
    ("url", "api.alltkn.com/v1", "https://"),
    ("url", "ftp://x.example", "https://"),
    ("url", "https://", "no host"),
    ("url", "https://exa mple.com", "whitespace"),
    ("url", "https://x.example:99999", "not a valid URL"),
    ("url", " https://x.example", "whitespace"),
    ("model", "", "non-empty"),
    ("model", "deepseek chat", "without spaces"),
    ("duration_ms", "0", "positive"),
    ("duration_ms", "-5", "positive"),
    ("duration_ms", "+5", "positive"),
    ("duration_ms", "1.5", "positive"),
    ("duration_ms", "٣", "positive"),
    ("duration_ms", "9" * 5000, "positive"),
    ("log_level", "loud", "unknown log level"),
    ("int", "+-5", "whole number"),
    ("int", "4.0", "whole number"),
    ("int", "", "whole number"),
    ("int", str(MAX_INT + 1), "whole number"),
    ("int", "9" * 5000, "whole number"),
    ("bool", "maybe", "not a boolean"),
    ("int", " 5", "whitespace"),
    ("bool", "true\n", "whitespace"),
    ("string", "a\x00b", "NUL"),
    ("secret", "a\x00b", "NUL"),
    ("string", "x" * (1024 * 1024 + 1), "larger than 1 MiB"),
    ("string", "\udcff", "UTF-8"),
]


@pytest.mark.parametrize(("typ", "value"), VALID)
def test_valid_values_pass_unchanged(typ: str, value: str) -> None:
    """Each type accepts its well-formed values and returns them unchanged (no normalisation)."""
    assert validate_value(VarSpec("X", typ), value) == value


@pytest.mark.parametrize(("typ", "value", "why"), INVALID)
def test_invalid_values_are_refused_naming_the_variable_not_the_value(typ: str, value: str, why: str) -> None:
    """A bad value raises InvalidValue that names the variable and the problem but never echoes the value."""
    with pytest.raises(InvalidValue) as info:
        validate_value(VarSpec("MY_VAR", typ), value)
    text = str(info.value)
    assert "MY_VAR" in info.value.message and why in text
    if len(value) > 3:
        assert value.strip() not in info.value.message


def test_a_secret_like_value_in_a_plain_variable_is_not_echoed_when_refused() -> None:
    """A secret pasted into a typed variable by mistake does not reach the error message."""
    for typ in ("url", "duration_ms", "int", "bool", "log_level"):
        with pytest.raises(InvalidValue) as info:
            validate_value(VarSpec("AI_REQUEST_TIMEOUT_MS", typ), CANARY)
        assert CANARY not in str(info.value)


def test_coerce_gives_python_types() -> None:
    """load() values: int and duration_ms become int, bool becomes bool, the rest stay str."""
    assert coerce(VarSpec("A", "duration_ms"), "60000") == 60000
    assert coerce(VarSpec("A", "int"), "-0042") == -42
    assert coerce(VarSpec("A", "int"), "0" * 5000 + "7") == 7
    assert coerce(VarSpec("A", "bool"), "Yes") is True
    assert coerce(VarSpec("A", "bool"), "off") is False
    assert coerce(VarSpec("A", "url"), "https://x.example") == "https://x.example"
    assert coerce(VarSpec("A", "string"), "42") == "42"


def test_url_problem() -> None:
    """url_problem describes what is wrong with a URL, or returns ''."""
    assert url_problem("https://api.alltkn.com/api/v1") == ""
    assert "https://" in url_problem("mailto:x@y")
    assert "host" in url_problem("https:///path")


# -- type inference ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "value", "typ"),
    [
        ("ALLTKN_API_KEY", "sk-1", "secret"),
        ("DB_PASSWORD", "", "secret"),
        ("ALLTKN_BASE_URL", "https://api.alltkn.com/api/v1", "url"),
        ("HOMEPAGE", "http://x.example/", "url"),
        ("BROKEN_URL", "https://x.example:99999", "string"),
        ("AI_LOG_LEVEL", "info", "log_level"),
        ("AI_LOG_LEVEL", "chatty", "string"),
        ("AI_REQUEST_TIMEOUT_MS", "60000", "duration_ms"),
        ("AI_REQUEST_TIMEOUT_MS", "0", "int"),
        ("ALLTKN_DEFAULT_MODEL", "deepseek-chat", "model"),
        ("ALLTKN_DEFAULT_MODEL", "deepseek chat", "string"),
        ("FEATURE_X", "True", "bool"),
        ("WORKERS", "8", "int"),
        ("OFFSET", "-3", "int"),
        ("OFFSET", "+3", "int"),
        ("ZERO", "0", "int"),
        ("NEG_ZERO", "-0", "int"),
        ("ZIP", "007", "string"),
        ("ZIP", "-007", "string"),
        ("ODD", "+-5", "string"),
        ("ODD", "--5", "string"),
        ("HUGE", "9" * 20, "string"),
        ("HUGE_MS", "9" * 20, "string"),
        ("EMPTY", "", "string"),
        ("ARABIC", "٣", "string"),
        ("FLOAT", "1.5", "string"),
    ],
)
def test_infer_type(name: str, value: str, typ: str) -> None:
    """import guesses types from names and values; odd numbers (+-5, 007, 20 digits) stay strings."""
    assert infer_type(name, value) == typ


@settings(deadline=None)
@given(name=st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,20}\Z"), value=st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),
    st.from_regex(r"\A[+-]{0,2}[0-9]{0,22}\Z"),
    st.sampled_from(["true", "FALSE", "info", "Debug", "https://a.example/v1", "http://h:1", "0", "-0", "00"]),
))
def test_inferred_type_always_accepts_the_value_it_was_inferred_from(name: str, value: str) -> None:
    """Whatever import infers, the value validates under it (an empty secret is the one refusal)."""
    typ = infer_type(name, value)
    if typ == "secret" and value == "":
        return
    assert validate_value(VarSpec(name, typ), value) == value
    coerce(VarSpec(name, typ), value)  # and load() can type it


# -- schema entries ---------------------------------------------------------------

def test_spec_from_toml_reads_every_field() -> None:
    """A full [variables.NAME] table becomes a VarSpec; secrets default to promote=keep."""
    spec = spec_from_toml("ALLTKN_API_KEY", {
        "type": "secret", "required": True, "owner": "alice", "rotation_method": "console", "rotation_days": 90,
        "pin": ["production"], "ignore": ["E009"], "export_as": {"vercel": "API_KEY"}, "description": "d",
    })
    assert spec.secret and spec.required and spec.rotation_days == 90 and spec.pin == ("production",)
    assert spec.promote_policy == "keep"
    assert VarSpec("X", "url").promote_policy == "move"
    assert VarSpec("X", "secret", promote="move").promote_policy == "move"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("not a table", "must be a table"),
        ({"type": "float"}, "unknown type"),
        ({"promote": "copy"}, "promote"),
        ({"pin": "production"}, "pin"),
        ({"rotation_days": -1}, "rotation_days"),
        ({"rotation_days": True}, "rotation_days"),
        ({"ignore": "E009"}, "ignore"),
        ({"export_as": {"vercel": 1}}, "export_as"),
        ({"owner": 5}, "owner"),
        ({"required": "yes"}, "required"),
    ],
)
def test_spec_from_toml_refuses_malformed_tables(raw: object, why: str) -> None:
    """Every malformed schema field is refused naming the variable and the field."""
    with pytest.raises(InvalidValue) as info:
        spec_from_toml("MY_VAR", raw)
    assert why in str(info.value) and "MY_VAR" in str(info.value)


def test_spec_from_toml_refuses_an_invalid_name() -> None:
    """A schema entry named `A-B` (or with a newline) is refused."""
    for name in ("A-B", "A\n", "a"):
        with pytest.raises(InvalidValue):
            spec_from_toml(name, {})


# -- near-miss names --------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "target", "near"),
    [
        ("ALLTKN_BASEURL", "ALLTKN_BASE_URL", True),
        ("ALTKN_API_KEY", "ALLTKN_API_KEY", True),
        ("ALLTKN_API_KYE", "ALLTKN_API_KEY", True),
        ("alltkn_base_url", "ALLTKN_BASE_URL", True),
        ("ALLTKN_BASE_URL", "ALLTKN_BASE_URL", False),
        ("AI_LOG_LEVEL", "ALLTKN_BASE_URL", False),
        ("KEY", "KEX", True),
        ("KEY", "KXX", False),
    ],
)
def test_near_miss(name: str, target: str, near: bool) -> None:
    """Drifted spellings of a schema name are near misses; the same name and distant names are not."""
    assert is_near_miss(name, target) is near


def test_near_misses_sorted_closest_first() -> None:
    """near_misses lists the candidates a name is close to, the closest first."""
    assert near_misses("ALLTKN_BASEURL", ["ALLTKN_BASE_URL", "AI_LOG_LEVEL", "ALLTKN_BASE_URI"]) == [
        "ALLTKN_BASE_URL", "ALLTKN_BASE_URI"]
    assert near_misses("SOMETHING_ELSE", ["ALLTKN_BASE_URL"]) == []


@settings(deadline=None)
@given(st.from_regex(r"\A[A-Z][A-Z0-9_]{0,20}\Z"), st.lists(st.integers(0, 20), max_size=3))
def test_case_and_underscore_drift_is_always_a_near_miss(name: str, cuts: list[int]) -> None:
    """The same letters with other case or underscores are a near miss; a name is never its own."""
    assert not is_near_miss(name, name)
    drifted = name.lower()
    for cut in cuts:
        drifted = drifted[:cut] + "_" + drifted[cut:]
    assume(drifted != name)
    assert is_near_miss(drifted, name)


# -- the error family ----------------------------------------------------------------

def test_errors_carry_message_hint_and_exit_code() -> None:
    """Every EnvmanError prints as 'message; hint' and exits 2, except a failed probe (1: something found)."""
    from envman import errors

    err = errors.NotFound("unknown environment 'qa'", "known: test")
    assert str(err) == "unknown environment 'qa'; known: test" and err.exit_code == errors.EXIT_USAGE == 2
    assert str(errors.UsageError("only a message")) == "only a message"
    for cls in (errors.UsageError, errors.NotFound, errors.ProjectNotFound, errors.InvalidValue, errors.KeyUnavailable,
                errors.TamperError, errors.ConflictError, errors.StoreError, errors.ExportRefused):
        assert issubclass(cls, errors.EnvmanError) and cls("x").exit_code == 2
    assert errors.ProbeFailed("x").exit_code == errors.EXIT_FOUND == 1
