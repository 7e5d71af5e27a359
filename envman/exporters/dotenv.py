"""`.env` files that python-dotenv, npm dotenv, dotenvx and node --env-file read alike.

The four readers disagree on almost every escape, so no escaping is used at all.
Each value is written in the first of these forms that all four read back
unchanged, and refused when none fits:

* bare ``NAME=value`` for plain words (letters, digits, ``_@%+,./:=?&-``);
* single quotes ``NAME='value'``: literal in all four, multi-line allowed, but
  the value may not hold ``'``, ``\\\\`` (python-dotenv turns it into one
  backslash) or end with ``\\`` (which would escape the closing quote);
* double quotes ``NAME="value"``: needed for values with ``'``; the value may not
  hold ``"``, a backslash before one of ``\\'"abfnrtv$`` (python-dotenv, npm
  dotenv, dotenvx each decode a different subset) or ``$`` expansion syntax
  (dotenvx expands ``$NAME``/``${NAME}`` and runs ``$(command)`` outside single
  quotes);
* unquoted ``NAME=value`` for one-line values holding both quote kinds.

Always refused: a carriage return (node --env-file deletes every CR, npm dotenv
and python-dotenv turn CR into LF), python-dotenv's ``${NAME}`` /
``${NAME:-default}`` syntax (expanded by default, even in single quotes), and a
value starting with ``encrypted:`` (dotenvx tries to decrypt it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from envman.exporters._common import ExportContext, ExportItem, env_items, refuse

_BARE = re.compile(r"[A-Za-z0-9_@%+,./:=?&-]*\Z")
# python-dotenv's own interpolation pattern (dotenv/variables.py).
_PY_INTERPOLATION = re.compile(r"\$\{[^}:]*(?::-[^}]*)?\}")
# What dotenvx acts on outside single quotes: $(...), ${...}, $NAME, and \$.
_DOTENVX_DOLLAR = re.compile(r"\$[({A-Za-z_]|\\\$")
# A backslash that some reader decodes inside double quotes, or one at the end.
_DQ_BACKSLASH = re.compile(r"\\(?:[\\'\"abfnrtv$]|\Z)")
# Characters that never go unquoted: controls, line and paragraph separators.
_UNQUOTED_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029#]")
_EDGE_SPACE = re.compile(r"\s|\ufeff")


def _single_quote_problem(value: str) -> str | None:
    if "'" in value:
        return "it contains a single quote"
    if "\\\\" in value:
        return "python-dotenv reads \\\\ as one backslash"
    if value.endswith("\\"):
        return "it ends with a backslash"
    return None


def _double_quote_problem(value: str) -> str | None:
    if '"' in value:
        return "it contains a double quote"
    if _DQ_BACKSLASH.search(value):
        return "the readers decode different backslash escapes"
    if _DOTENVX_DOLLAR.search(value):
        return "dotenvx expands $NAME, ${...} and runs $(...)"
    return None


def _unquoted_problem(value: str) -> str | None:
    if _UNQUOTED_BAD.search(value):
        return "a newline, control character or # does not survive without quotes"
    if _EDGE_SPACE.match(value[:1]) or _EDGE_SPACE.match(value[-1:]):
        return "the readers trim leading and trailing whitespace"
    if value[:1] in ("'", '"', "`"):
        return "a leading quote would be taken as quoting"
    if _DOTENVX_DOLLAR.search(value):
        return "dotenvx expands $NAME, ${...} and runs $(...)"
    return None


def encode_value(ctx: ExportContext, item: ExportItem) -> str:
    """Return the right-hand side for ``item`` or raise ExportRefused."""
    value = item.value
    if "\r" in value:
        raise refuse(
            ctx,
            item.name,
            "the value contains a carriage return: node --env-file deletes it, npm dotenv and python-dotenv read it as a newline",
        )
    if _PY_INTERPOLATION.search(value):
        raise refuse(
            ctx,
            item.name,
            "the value contains ${...}, which python-dotenv expands by default (interpolate=True) whatever the quoting",
        )
    if value.startswith("encrypted:"):
        raise refuse(ctx, item.name, "dotenvx treats a value starting with 'encrypted:' as ciphertext")
    if _BARE.match(value):
        return value
    single = _single_quote_problem(value)
    if single is None:
        return f"'{value}'"
    double = _double_quote_problem(value)
    if double is None:
        return f'"{value}"'
    unquoted = _unquoted_problem(value)
    if unquoted is None:
        return value
    raise refuse(
        ctx,
        item.name,
        "no quoting reads back identically in python-dotenv, npm dotenv, dotenvx and node --env-file "
        f"(single quotes: {single}; double quotes: {double}; no quotes: {unquoted})",
    )


def render(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield one ``NAME=value`` line per variable."""
    for item in env_items(ctx, items):
        yield f"{item.name}={encode_value(ctx, item)}\n"
