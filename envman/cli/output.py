"""Rendering for the terminal: colour only on a terminal and never with NO_COLOR."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click


def use_color(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def style(text: str, fg: str | None = None, bold: bool = False, stream: Any = None) -> str:
    return click.style(text, fg=fg, bold=bold) if use_color(stream) else text


def error_line(message: str) -> None:
    prefix = style("error:", fg="red", bold=True, stream=sys.stderr)
    click.echo(f"envman: {prefix} {message}", err=True, color=use_color(sys.stderr))


def note(message: str) -> None:
    click.echo(f"envman: {message}", err=True)


def emit_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned table; the header is bold on a terminal."""
    widths = [len(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))
    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()
    lines = [style(fmt(headers), bold=True)]
    lines.extend(fmt(r) for r in rows)
    return "\n".join(lines)
