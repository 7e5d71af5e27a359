"""systemd ``EnvironmentFile=``: ``NAME="value"`` lines.

systemd's parser (src/basic/env-file.c, systemd.exec(5)) keeps every character
inside double quotes, real newlines and carriage returns included, and turns
``\\`` followed by one of ``"\\`$`` into that character; a backslash before any
other character is kept. Escaping ``\\`` and ``"`` is therefore enough for an
exact round trip of any text but NUL. No ``$`` expansion happens in these files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from envman.exporters._common import ExportContext, ExportItem, env_items


def quote(value: str) -> str:
    """Double-quote ``value`` for an EnvironmentFile."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield one ``NAME="value"`` line (possibly spanning lines) per variable."""
    for item in env_items(ctx, items):
        yield f"{item.name}={quote(item.value)}\n"
