"""YAML: one mapping with every key and value double-quoted.

An unquoted scalar is typed by the loader: ``1e3``, ``0o17``, ``yes``, ``no``,
``on``, ``null`` and ``~`` come back as numbers, booleans or null under YAML 1.1
(PyYAML) or 1.2 (ruamel.yaml, Go's yaml), and even keys such as ``ON`` or ``Y``
turn into booleans. A double-quoted scalar is always a string in both versions.
Inside the quotes only printable characters are written raw; everything else
uses a YAML escape, so no loader folds, trims or rejects it. Long strings are
never wrapped (a folded line break would become a space).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from envman.exporters._common import ExportContext, ExportItem, check_env_name, check_text, refuse, unique

# Printable per YAML 1.1 and 1.2, minus '"' and backslash (escaped below), the line separators
# U+2028/U+2029 (line breaks in YAML 1.1, so they would be folded) and the BOM,
# which some loaders drop wherever it appears.
_NEEDS_ESCAPE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_NAMED = {
    "\\": "\\\\",
    '"': '\\"',
    "\x00": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
# YAML caps an implicit (one-line) key at 1024 characters.
_MAX_KEY = 1024


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def quote(text: str) -> str:
    """Return ``text`` as a YAML double-quoted scalar that every loader reads back exactly."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def mapping_lines(pairs: Iterable[tuple[str, str]], indent: str = "") -> Iterator[str]:
    """Yield ``"key": "value"`` lines; nothing when there are no pairs."""
    for key, value in pairs:
        yield f"{indent}{quote(key)}: {quote(value)}\n"


def _checked(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[tuple[str, str]]:
    for item in unique(ctx, items):
        check_env_name(ctx, item)
        check_text(ctx, item)
        if len(quote(item.name)) > _MAX_KEY:
            raise refuse(ctx, item.name, "YAML limits a mapping key to 1024 characters", "use a shorter name")
        yield item.name, item.value


def render(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield the mapping; an empty profile is ``{}``."""
    empty = True
    for line in mapping_lines(_checked(items, ctx)):
        empty = False
        yield line
    if empty:
        yield "{}\n"
