"""fly: `fly secrets import` input read back identically by flyctl's current and earlier parsers."""

from __future__ import annotations

from export_consumers import VALUE_LISTS, expected, fly_import, items_from, label, split, tricky_items
from hypothesis import given, settings

from envman.exporters import ExportItem, render

REFUSED = {
    "spaces around": "leading spaces",
    "only spaces": "leading spaces",
    "double-quoted look": "double quotes",
    "fly triple": "double quotes",
    "crlf": "CRLF",
    "fly triple line": 'ends with """',
    "64 KiB": "64 KiB",
}


def read_both(items: list[ExportItem]) -> None:
    data = render("fly", items, env="e", project="p").encode("utf-8")
    assert fly_import(data, current=True) == expected(items)
    assert fly_import(data, current=False) == expected(items)


def test_tricky_values_round_trip() -> None:
    """Multi-line values use \"\"\" blocks; values flyctl would alter are refused with the reason."""
    accepted, refused = split("fly", tricky_items(secret=True))
    assert {label(n): str(e) for n, e in refused.items()}.keys() == REFUSED.keys()
    for name, exc in refused.items():
        assert REFUSED[label(name)] in str(exc)
    read_both(accepted)


@settings(max_examples=200, deadline=None)
@given(values=VALUE_LISTS)
def test_generated_values_round_trip(values: list[str]) -> None:
    """Arbitrary values: both parsers read them back exactly, or the encoder refuses."""
    accepted, _ = split("fly", items_from(values, secret=True))
    read_both(accepted)


def test_multiline_format() -> None:
    """A PEM key is written the way flyctl documents multi-line secrets."""
    text = render("fly", [ExportItem("KEY", "a\nb", True)], env="e", project="p")
    assert text == 'KEY="""a\nb"""\n'
