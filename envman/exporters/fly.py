"""Input for ``fly secrets import`` (reads NAME=VALUE lines on stdin).

flyctl's parser (internal/command/secrets/parser.go) reads lines with Go's
``bufio.Scanner``: ``NAME=VALUE`` on one line, or ``NAME=\"\"\"first line`` ...
``last line\"\"\"`` for a multi-line value. Older releases keep the value
verbatim; newer ones also trim leading spaces and strip one pair of surrounding
double quotes. Every value is written in a form both read back unchanged;
refused otherwise:

* a one-line value that starts with a space, ``\"\"\"``, or both starts and ends
  with ``"``; or ends with a carriage return (the scanner drops it);
* a multi-line value with an inner line ending in ``\"\"\"`` (it would close the
  value) or a CRLF line break (the CR is dropped);
* any line of 64 KiB or more: the scanner stops there and flyctl silently
  ignores the rest of the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from envman.exporters._common import ExportContext, ExportItem, env_items, refuse, utf8_len

MAX_LINE_BYTES = 64 * 1024 - 1
_TRIPLE = '"""'


def encode(ctx: ExportContext, item: ExportItem) -> str:
    """Return the lines for one variable or raise ExportRefused."""
    value = item.value
    if "\n" not in value:
        if value.startswith(" "):
            raise refuse(ctx, item.name, "flyctl trims leading spaces from one-line values")
        if value.startswith(_TRIPLE) or (value.startswith('"') and value.endswith('"')):
            raise refuse(ctx, item.name, "flyctl treats leading or surrounding double quotes as quoting")
        if value.endswith("\r"):
            raise refuse(ctx, item.name, "the value ends with a carriage return, which flyctl drops")
        text = f"{item.name}={value}"
    else:
        lines = value.split("\n")
        if any(line.endswith(_TRIPLE) for line in lines[1:-1]):
            raise refuse(ctx, item.name, 'an inner line ends with """, which would end the value early')
        if any(line.endswith("\r") for line in lines[:-1]):
            raise refuse(ctx, item.name, "the value contains CRLF line breaks; flyctl drops the CR")
        text = f"{item.name}={_TRIPLE}{value}{_TRIPLE}"
    if any(utf8_len(line) > MAX_LINE_BYTES for line in text.split("\n")):
        raise refuse(ctx, item.name, "a line is 64 KiB or longer; flyctl would silently ignore the rest of the input")
    return text + "\n"


def render(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield the stdin for ``fly secrets import``."""
    for item in env_items(ctx, items):
        yield encode(ctx, item)
