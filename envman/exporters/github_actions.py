"""GitHub Actions: ``$GITHUB_ENV`` heredocs and ``::add-mask::`` commands.

Two sections, chosen with ``ExportOptions.github_section``, because they go to
different places in the same step, masks first: the ``mask`` section to the
step's stdout (the runner reads workflow commands there), then the ``env``
section appended to the file named by ``$GITHUB_ENV`` (variables for later
steps).

``env``: each variable as ``NAME<<DELIM`` / value / ``DELIM``. The runner
(actions/runner ``SetEnvFileCommand``, docs "Setting an environment variable"
and "Multiline strings") takes the lines up to the first one equal to DELIM as
the value, so DELIM is random per variable and never occurs in the value: a
value can never end its heredoc early and inject variables. Refused: the name
``NODE_OPTIONS`` (the runner rejects it) and a value ending with a carriage
return (Windows runners split lines at CRLF and would drop it).

``mask``: ``::add-mask::`` for each secret's whole value and for each of its
lines (the log masker matches line by line), escaped as the runner's workflow
command parser expects (``%`` -> ``%25``, CR -> ``%0D``, LF -> ``%0A``).
Blank values are not masked: the runner ignores them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator

from envman.exporters._common import ExportContext, ExportItem, env_items, refuse

_LINES = re.compile(r"\r\n|\n|\r")


def escape_data(text: str) -> str:
    """Escape workflow command data the way @actions/core does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def new_delimiter(value: str) -> str:
    """A random heredoc delimiter that does not occur in ``value``."""
    while True:
        delimiter = f"ENVMAN_EOF_{secrets.token_hex(16)}"
        if delimiter not in value:
            return delimiter


def _blank(text: str) -> bool:
    # The runner skips masks that .NET calls white space; U+001C..U+001F are not
    # white space there (they are in Python), so such a secret is still masked.
    return all(ch.isspace() and ch not in "\x1c\x1d\x1e\x1f" for ch in text)


def mask_values(value: str) -> list[str]:
    """The strings to register as masks for one secret value."""
    masks = [] if _blank(value) else [value]
    for line in _LINES.split(value):
        if not _blank(line) and line not in masks:
            masks.append(line)
    return masks


def _checked(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[ExportItem]:
    for item in env_items(ctx, items):
        if item.name.upper() == "NODE_OPTIONS":
            raise refuse(
                ctx,
                item.name,
                "the Actions runner refuses NODE_OPTIONS from $GITHUB_ENV",
                "set NODE_OPTIONS in the workflow's env: block",
            )
        if item.value.endswith("\r"):
            raise refuse(ctx, item.name, "the value ends with a carriage return, which Windows runners drop")
        yield item


def render(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield the section chosen in ``ctx.options.github_section``."""
    if ctx.options.github_section == "mask":
        for item in _checked(items, ctx):
            if item.secret:
                for mask in mask_values(item.value):
                    yield f"::add-mask::{escape_data(mask)}\n"
        return
    for item in _checked(items, ctx):
        delimiter = new_delimiter(item.value)
        yield f"{item.name}<<{delimiter}\n{item.value}\n{delimiter}\n"
