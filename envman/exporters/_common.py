"""Shared checks for the export encoders: names, forbidden characters, size limits.

Every refusal names the variable and the reason, never the value: values may be
secrets and error messages end up in terminals and CI logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Literal

from envman.errors import ExportRefused
from envman.records import Record

# `\Z`, not `$`: `$` also matches before a trailing newline, which would let
# "NAME\n" through and inject a line into the export.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Linux refuses to exec a process when one environment string (NAME=VALUE plus
# its NUL) is longer than MAX_ARG_STRLEN = 32 pages = 131072 bytes: the app
# would never start, so every target that ends up in a process environment
# refuses such a variable up front.
MAX_ARG_STRLEN = 32 * 4096


class ExportItem(Record):
    """One variable to export; ``repr`` masks the value of a secret."""

    name: str
    value: str
    secret: bool

    def __repr__(self) -> str:
        shown = "'***'" if self.secret else repr(self.value)
        return f"ExportItem(name={self.name!r}, value={shown}, secret={self.secret})"


class ExportOptions(Record):
    """Per-target settings; every field has a default that suits most projects."""

    # Kubernetes object name; default "<project>-<env>" (must be a DNS-1123 subdomain).
    k8s_name: str | None = None
    k8s_namespace: str | None = None
    # GitHub Actions: "env" is appended to $GITHUB_ENV, "mask" is printed to a
    # step's stdout (``::add-mask::`` lines) before anything can echo a value.
    github_section: Literal["env", "mask"] = "env"
    # Vercel environment given to `vercel env add`; default: the envman env name.
    vercel_environment: str | None = None


class ExportContext(Record):
    """What every encoder receives besides the items."""

    fmt: str
    env: str
    project: str
    options: ExportOptions = ExportOptions()


def refuse(ctx: ExportContext, name: str, reason: str, hint: str = "") -> ExportRefused:
    """Build the refusal for one variable; the value itself never appears."""
    return ExportRefused(
        f"cannot export {name} as {ctx.fmt}: {reason}",
        hint or f"change the value of {name}, or export it with another format (shell keeps any text)",
    )


def utf8_len(text: str) -> int:
    """Length in bytes once written as UTF-8 (the encoding of every export)."""
    return len(text.encode("utf-8"))


def check_text(ctx: ExportContext, item: ExportItem) -> None:
    """Refuse what no target can hold: NUL bytes and text that is not valid Unicode."""
    if "\x00" in item.value:
        raise refuse(ctx, item.name, "the value contains a NUL byte, which no environment variable can hold")
    if item.value.isascii():  # runs once per value: ASCII text holds no surrogate, no need to encode it
        return
    try:
        item.value.encode("utf-8")
    except UnicodeEncodeError:
        raise refuse(ctx, item.name, "the value is not valid Unicode (lone surrogate)") from None


def check_env_name(ctx: ExportContext, item: ExportItem) -> None:
    """Refuse names that are not portable environment variable names."""
    if not ENV_NAME.match(item.name):
        raise ExportRefused(
            f"cannot export {item.name!r} as {ctx.fmt}: not a valid environment variable name",
            "names must match [A-Za-z_][A-Za-z0-9_]*",
        )


def check_exec_size(ctx: ExportContext, item: ExportItem) -> None:
    """Refuse a variable the kernel would not pass to a new process."""
    if 4 * (len(item.name) + len(item.value)) + 2 <= MAX_ARG_STRLEN:  # at most 4 UTF-8 bytes a character: surely fits
        return
    if utf8_len(item.name) + 1 + utf8_len(item.value) + 1 > MAX_ARG_STRLEN:
        raise refuse(
            ctx,
            item.name,
            "NAME=VALUE is over 128 KiB, the Linux limit for one environment string (MAX_ARG_STRLEN); the process would fail to start",
            f"store large data in a file and put its path in {item.name}",
        )


class DistinctItems(Iterable[ExportItem]):
    """Items whose producer already made sure no name comes twice (an export checks its renames as it goes).

    ``unique`` lets them through without keeping every name: a set of 10,000 names is a megabyte.
    """

    def __init__(self, items: Iterable[ExportItem]) -> None:
        self._items = items

    def __iter__(self) -> Iterator[ExportItem]:
        return iter(self._items)


def unique(ctx: ExportContext, items: Iterable[ExportItem]) -> Iterator[ExportItem]:
    """The items, refusing a repeated name (readers silently keep one of them)."""
    if isinstance(items, DistinctItems):
        return iter(items)
    return _unique(ctx, items)


def _unique(ctx: ExportContext, items: Iterable[ExportItem]) -> Iterator[ExportItem]:
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            raise ExportRefused(
                f"cannot export {item.name} as {ctx.fmt}: the name appears twice",
                "each variable must appear once",
            )
        seen.add(item.name)
        yield item


def within_total(ctx: ExportContext, items: Iterable[ExportItem], limit: int, reason: str, hint: str) -> Iterator[ExportItem]:
    """Yield the items, refusing the one with which all names and values together pass ``limit`` bytes.

    For platforms that cap the size of a whole set of variables; ``reason`` and
    ``hint`` say which limit it is and what to do instead.
    """
    total = 0
    for item in items:
        total += utf8_len(item.name) + utf8_len(item.value)
        if total > limit:
            raise refuse(ctx, item.name, reason, hint)
        yield item


def env_items(ctx: ExportContext, items: Iterable[ExportItem]) -> Iterator[ExportItem]:
    """The checks every environment target shares: name, text, exec size, duplicates."""
    for item in unique(ctx, items):
        check_env_name(ctx, item)
        check_text(ctx, item)
        check_exec_size(ctx, item)
        yield item
