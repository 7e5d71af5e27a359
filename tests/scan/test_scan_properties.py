"""Property tests: a secret put anywhere in random text is found there, and only there."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from envman.scan import Scanner, encoded_forms
from tests.scan.scanhelp import CUR, FP, PASSWORD, PAST, TOKEN, keyless, position, secret

SECRETS = [secret(CUR), secret(PAST, current=False), secret(TOKEN, var="TOKEN"), secret(PASSWORD, var="DB_PASSWORD")]
FORMS = [p for s in SECRETS if s.plaintext for p, _ in encoded_forms(s.plaintext)]
KEYED = Scanner(SECRETS, FP)
KEYED_SMALL_CHUNKS = Scanner(SECRETS, FP, chunk_size=1)
KEYLESS = Scanner([keyless(s) for s in SECRETS[:3]], FP, chunk_size=1)

# Random text that leans towards the secrets' own characters, newlines and multi-byte ones.
TEXT = st.text(alphabet=st.sampled_from(list("sk-Pat0123456789abcdefwxyz/+=~. \n\"'é€𝄞") + list(CUR)), max_size=600)


def _no_forms(data: bytes) -> bool:
    return not any(p in data for p in FORMS)


@settings(max_examples=200, deadline=None)
@given(text=TEXT, at=st.integers(min_value=0), which=st.sampled_from(SECRETS))
def test_inserted_secret_is_found_at_its_position(text: str, at: int, which: object) -> None:
    """Inserted at a random character position, the secret is reported there, with the
    right line and character column, and nothing else is reported."""
    s = SECRETS[SECRETS.index(which)]  # type: ignore[arg-type]
    assert s.plaintext is not None
    at %= len(text) + 1
    assume(_no_forms(text[:at].encode()) and _no_forms(text[at:].encode()))
    data = text[:at] + s.plaintext + text[at:]
    assume(data.count(s.plaintext) == 1)
    for scanner in (KEYED, KEYED_SMALL_CHUNKS):
        hits = scanner.scan_bytes(data.encode())
        assert {(h.line, h.column, h.var, h.encoding) for h in hits} == {(*position(data, s.plaintext, 0), s.var, "plain")}


@settings(max_examples=200, deadline=None)
@given(text=TEXT)
def test_random_text_without_a_secret_has_no_hit(text: str) -> None:
    """Text holding none of the patterns yields no hit, keyed or keyless."""
    assume(_no_forms(text.encode()))
    assert KEYED.scan_bytes(text.encode()) == []
    assert KEYLESS.scan_bytes(text.encode()) == []


@settings(max_examples=200, deadline=None)
@given(before=TEXT, after=TEXT, which=st.sampled_from(SECRETS[:3]), sep=st.sampled_from([" ", "\n", '"', "=", "/", "'"]))
def test_keyless_finds_a_delimited_secret_anywhere(before: str, after: str, which: object, sep: str) -> None:
    """Without plaintext, a secret set off by a delimiter is found at the same place keyed mode finds it."""
    s = SECRETS[SECRETS.index(which)]  # type: ignore[arg-type]
    assert s.plaintext is not None
    data = (before + sep + s.plaintext + " " + after).encode()
    keyed_plain = {(h.line, h.column, h.var) for h in KEYED_SMALL_CHUNKS.scan_bytes(data) if h.encoding == "plain"}
    found = {(h.line, h.column, h.var) for h in KEYLESS.scan_bytes(data)}
    text = data.decode()
    assert (*position(text, s.plaintext, len(before) + len(sep)), s.var) in found
    assert found == keyed_plain
