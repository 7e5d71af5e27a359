"""envman.diff: the pure comparison of two profiles, and `envman diff` on top of it."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from envman.diff import ADDED, CHANGED, REMOVED, SAME, SHARED, diff_profiles
from envman.profile import Profile, SecretRecord

NAMES = st.sampled_from(["A", "B", "C_KEY", "D_URL", "E_MS", "F"])
PLAIN = st.text(max_size=12)
SECRETS = st.builds(
    SecretRecord,
    ciphertext=st.text(alphabet="abcdef0123456789", min_size=8, max_size=16).map(lambda t: "envman:v1:" + t),
    masked=st.sampled_from(["sk-…aaaa", "sk-…bbbb", "…"]),
    fingerprint=st.sampled_from(["fp1:01", "fp1:02", "fp1:03"]),
)


@st.composite
def profiles(draw, env: str = "staging"):  # type: ignore[no-untyped-def]
    names = draw(st.sets(NAMES, max_size=6))
    values, secrets = {}, {}
    for name in sorted(names):
        if draw(st.booleans()):
            secrets[name] = draw(SECRETS)
        else:
            values[name] = draw(PLAIN)
    return Profile(project="p", env=env, version=draw(st.integers(1, 50)), values=values, secrets=secrets)


def _secret(fp: str, cipher: str = "envman:v1:x") -> SecretRecord:
    return SecretRecord(cipher, "sk-…" + fp[-4:], fp)


@settings(deadline=None)
@given(profiles())
def test_diff_of_a_profile_with_itself_is_empty(a: Profile) -> None:
    """diff(A, A) reports no difference, whatever A holds."""
    assert diff_profiles(a, a).empty


@settings(deadline=None)
@given(profiles(), profiles())
def test_diff_is_the_mirror_of_the_reverse_diff(a: Profile, b: Profile) -> None:
    """What A→B calls added, B→A calls removed; changed and same are symmetric."""
    forward, back = diff_profiles(a, b), diff_profiles(b, a)
    mirror = {ADDED: REMOVED, REMOVED: ADDED, CHANGED: CHANGED, SAME: SAME, SHARED: SHARED}
    assert {v.name: mirror[v.status] for v in forward.vars} == {v.name: v.status for v in back.vars}


@settings(deadline=None)
@given(profiles(env="staging"), profiles(env="production"))
def test_equal_secrets_across_environments_are_never_same(a: Profile, b: Profile) -> None:
    """Between two environments, a secret with the same fingerprint is `shared-secret`, never `same`."""
    for v in diff_profiles(a, b).vars:
        if v.secret and v.old and v.new and v.old.secret and v.new.secret and v.old.fingerprint == v.new.fingerprint:
            assert v.status == SHARED


def test_each_status() -> None:
    """Added, removed, changed and same are told apart for plain values."""
    a = Profile("p", "staging", 1, values={"KEEP": "1", "GONE": "x", "EDIT": "a"})
    b = Profile("p", "staging", 2, values={"KEEP": "1", "NEW": "y", "EDIT": "b"})
    d = diff_profiles(a, b)
    assert {v.name: v.status for v in d.vars} == {"KEEP": SAME, "GONE": REMOVED, "NEW": ADDED, "EDIT": CHANGED}
    assert d.names() == ["EDIT", "GONE", "NEW"]
    assert d.counts()[SAME] == 1


def test_secrets_are_compared_by_fingerprint_not_ciphertext() -> None:
    """Two ciphertexts of one value (same fingerprint) are the same secret; another fingerprint is a change."""
    a = Profile("p", "production", 1, secrets={"K": _secret("fp1:aaaa", "envman:v1:one"), "L": _secret("fp1:1111")})
    b = Profile("p", "production", 2, secrets={"K": _secret("fp1:aaaa", "envman:v1:two"), "L": _secret("fp1:2222")})
    d = diff_profiles(a, b)
    assert [(v.name, v.status) for v in d.vars] == [("K", SAME), ("L", CHANGED)]


def test_same_secret_in_two_environments_is_a_problem() -> None:
    """The same fingerprint in staging and production is flagged `shared-secret` and counts as a difference."""
    a = Profile("p", "staging", 1, secrets={"K": _secret("fp1:aaaa")})
    b = Profile("p", "production", 1, secrets={"K": _secret("fp1:aaaa")})
    d = diff_profiles(a, b)
    assert d.vars[0].status == SHARED and not d.empty


def test_secret_turned_plain_is_a_change() -> None:
    """A variable stored as a secret on one side and plain on the other is changed."""
    a = Profile("p", "test", 1, secrets={"K": _secret("fp1:aaaa")})
    b = Profile("p", "test", 2, values={"K": "plain"})
    assert diff_profiles(a, b).vars[0].status == CHANGED


def test_json_form_never_holds_ciphertext() -> None:
    """The diff's dict form shows masked secrets and fingerprints, never the ciphertext."""
    a = Profile("p", "staging", 1, secrets={"K": _secret("fp1:aaaa", "envman:v1:SECRETCIPHER")})
    b = Profile("p", "production", 1, secrets={"K": _secret("fp1:bbbb", "envman:v1:OTHERCIPHER")})
    text = json.dumps(diff_profiles(a, b).as_dict(), ensure_ascii=False)
    assert "CIPHER" not in text and "sk-…aaaa" in text


def test_cli_diff_flags_shared_key_and_exits_1(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """`envman diff` exits 1 and flags a key shared by staging and production, without any private key."""
    assert cli("set", "production", "ALLTKN_API_KEY", input="sk-stag-bbbbbbbbbbbbbbbb2222\n").exit_code == 0
    r = cli("diff", "staging", "production", env={"ENVMAN_KEYS_FILE": ""})
    assert r.exit_code == 1, r.output
    assert "! ALLTKN_API_KEY" in r.stdout and "shared" in r.output
    assert "bbbb2222" not in r.output and "sk-stag" not in r.output
    j = cli("diff", "staging", "production", "--json", env={"ENVMAN_KEYS_FILE": ""})
    data = json.loads(j.stdout)
    assert {v["name"]: v["status"] for v in data["variables"]}["ALLTKN_API_KEY"] == "shared-secret"


def test_cli_diff_equal_exits_0(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """Comparing a version with itself prints no differences and exits 0."""
    r = cli("diff", "staging", "staging@1")
    assert r.exit_code == 0, r.output
    assert "no differences" in r.stdout


def test_cli_diff_versions_of_one_environment(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """Two versions of one environment are compared; plain values are shown old → new."""
    cli("set", "staging", "AI_LOG_LEVEL", "debug")
    r = cli("diff", "staging@1", "staging@latest")
    assert r.exit_code == 1
    assert "~ AI_LOG_LEVEL  info → debug" in r.stdout
    assert "ALLTKN_API_KEY" not in r.stdout  # unchanged lines are hidden without --all
    assert "ALLTKN_API_KEY" in cli("diff", "staging@1", "staging@latest", "--all").stdout
