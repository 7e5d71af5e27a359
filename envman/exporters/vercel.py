"""Vercel: a POSIX sh script that adds each variable with ``vercel env add``.

Each value reaches the CLI on stdin, never on its command line (where ``ps``
shows it): ``printf '%s' 'value' | vercel env add NAME ENVIRONMENT``. ``printf``
is a builtin of dash and bash, so the value is not on any process's argv either;
it is single-quoted as in the shell target. Run the script in a directory
linked to the project (``vercel link``). A variable that already exists in that
environment makes ``vercel env add`` fail; remove it first.

Refused, from the Vercel CLI's stdin handling (packages/cli, ``env add``): an
empty value (empty stdin counts as "no value given"), a one-line value ending
in a line break (the CLI strips it), and variables over 64 KiB in total (names
and values), Vercel's limit per deployment. Older CLI releases read only the
first chunk of stdin: use a current ``vercel``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from envman.errors import ExportRefused
from envman.exporters._common import ExportContext, ExportItem, env_items, refuse, within_total
from envman.exporters.shell import quote

MAX_TOTAL_BYTES = 64 * 1024
_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def stdin_changes(value: str) -> bool:
    """True when the Vercel CLI would not store ``value`` exactly as read from stdin."""
    if value == "":
        return True
    for ending in ("\r\n", "\n"):
        if value.endswith(ending):
            rest = value[: -len(ending)]
            return "\n" not in rest and "\r" not in rest
    return False


def _checked(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[ExportItem]:
    for item in env_items(ctx, items):
        if item.value == "":
            raise refuse(ctx, item.name, "vercel env add reads empty stdin as a missing value")
        if stdin_changes(item.value):
            raise refuse(ctx, item.name, "vercel env add strips the line break ending a one-line value")
        yield item


def render(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield the script."""
    environment = ctx.options.vercel_environment or ctx.env
    if not _ENVIRONMENT.match(environment):
        raise ExportRefused(
            f"cannot export as vercel: {environment!r} is not a Vercel environment name",
            "pass production, preview, development or a custom environment's slug (vercel_environment)",
        )
    yield "#!/bin/sh\n# Adds each variable to the linked Vercel project; values travel on stdin.\nset -eu\n"
    for item in within_total(
        ctx,
        _checked(items, ctx),
        MAX_TOTAL_BYTES,
        "with this variable the environment exceeds 64 KiB, Vercel's limit per deployment",
        "move large values to a file or a store",
    ):
        yield f"printf '%s' {quote(item.value)} | vercel env add {item.name} {quote(environment)}\n"
