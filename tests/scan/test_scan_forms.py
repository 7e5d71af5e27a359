"""Encoded forms, masked-form parsing and what cannot be searched."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

from hypothesis import given
from hypothesis import strategies as st

from envman.scan import BASE64, HEX, JSON, PLAIN, URL, KnownSecret, encoded_forms, split_masked, unsearchable
from tests.scan.scanhelp import CUR, PASSWORD, PAST, mask


def _forms(value: str) -> dict[bytes, str]:
    return dict(encoded_forms(value))


def test_plain_form_comes_first_and_is_labelled_plain() -> None:
    """The secret's own UTF-8 bytes are a pattern, labelled plain, listed first."""
    forms = encoded_forms(PASSWORD)
    assert forms[0] == (PASSWORD.encode(), PLAIN)


def test_every_named_encoding_is_present() -> None:
    """A password with special and non-ASCII characters yields each encoding family."""
    forms = _forms(PASSWORD)
    assert quote(PASSWORD, safe="").encode() in forms
    assert quote_plus(PASSWORD).encode() in forms
    assert json.dumps(PASSWORD)[1:-1].encode() in forms
    assert json.dumps(PASSWORD, ensure_ascii=False)[1:-1].encode() in forms
    assert PASSWORD.encode().hex().encode() in forms
    assert PASSWORD.encode().hex().upper().encode() in forms
    assert set(forms.values()) == {PLAIN, BASE64, URL, JSON, HEX}


def test_identical_encodings_collapse_to_the_plain_label() -> None:
    """For an alphanumeric key, URL and JSON forms equal the plain text and are not duplicated."""
    forms = encoded_forms(CUR)
    patterns = [p for p, _ in forms]
    assert len(patterns) == len(set(patterns))
    assert _forms(CUR)[CUR.encode()] == PLAIN
    assert URL not in _forms(CUR).values()


def test_json_slash_escape_variant() -> None:
    """JSON writers that escape '/' as '\\/' are covered too."""
    assert PAST.replace("/", "\\/").encode() in _forms(PAST)


def test_lowercase_percent_escapes() -> None:
    """Percent-encoders that emit lowercase hex digits are covered too."""
    assert quote(PAST, safe="").replace("%2F", "%2f").replace("%2B", "%2b").encode() in _forms(PAST)


@given(value=st.text(min_size=8, max_size=60), before=st.binary(max_size=7), after=st.binary(max_size=7), urlsafe=st.booleans())
def test_base64_of_any_surrounding_bytes_contains_a_form(value: str, before: bytes, after: bytes, urlsafe: bool) -> None:
    """Whatever bytes precede or follow a secret of 8+ bytes, its base64 contains one of the base64 patterns."""
    enc = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    blob = enc(before + value.encode() + after)
    forms = [p for p, kind in encoded_forms(value) if kind == BASE64]
    assert any(p in blob for p in forms)


def test_base64_forms_cover_three_alignments() -> None:
    """There is one standard base64 pattern per byte alignment (0, 1, 2 bytes before)."""
    raw = CUR.encode()
    forms = _forms(CUR)
    for pad, skip in ((0, 0), (1, 2), (2, 3)):
        full = base64.b64encode(b"\0" * pad + raw)
        assert full[skip : 8 * (pad + len(raw)) // 6] in forms


def test_split_masked() -> None:
    """The visible prefix and suffix are read around the gap marker; no marker means None."""
    assert split_masked("sk-…cdef") == ("sk-", "cdef")
    assert split_masked("…cdef") == ("", "cdef")
    assert split_masked("sk-...cdef") == ("sk-", "cdef")
    assert split_masked("…") == ("", "")
    assert split_masked("cdef") is None


def test_unsearchable_lists_short_and_fully_masked_secrets() -> None:
    """Too-short plaintexts and masks with nothing visible cannot be searched; the rest can."""
    short = KnownSecret("test", "PIN", 1, True, "…", "fp", "12345")
    hidden = KnownSecret("test", "TOKEN", 1, True, "…", "fp", None)
    fine = KnownSecret("test", "API_KEY", 1, True, mask(CUR), "fp", None)
    assert unsearchable([short, hidden, fine]) == [short, hidden]


def test_known_secret_repr_masks_the_plaintext() -> None:
    """repr and str of a KnownSecret show the masked form, never the plaintext."""
    s = KnownSecret("production", "API_KEY", 3, True, mask(CUR), "fp1:x", CUR)
    assert CUR not in repr(s) and CUR not in str(s)
    assert "sk-…cdef" in repr(s)
