"""POSIX shell: ``export NAME='value'`` lines, to load with ``. ./file``.

Inside single quotes a POSIX shell takes every byte literally, so a value is
exact for any text but NUL once each ``'`` is written ``'\\''`` (close the
quote, an escaped quote, reopen). Refused: names the shell itself owns (read-only
or recomputed on every use in bash or dash), which sourcing cannot set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from envman.exporters._common import ExportContext, ExportItem, env_items, refuse

# Read-only in bash (assignment aborts the sourcing) or recomputed by bash/dash
# whenever read, so the exported value would not be the one written.
SHELL_OWNED = frozenset(
    {
        "_",
        "BASHOPTS",
        "BASHPID",
        "BASH_ALIASES",
        "BASH_ARGC",
        "BASH_ARGV",
        "BASH_ARGV0",
        "BASH_CMDS",
        "BASH_COMMAND",
        "BASH_LINENO",
        "BASH_REMATCH",
        "BASH_SOURCE",
        "BASH_SUBSHELL",
        "BASH_VERSINFO",
        "DIRSTACK",
        "EPOCHREALTIME",
        "EPOCHSECONDS",
        "EUID",
        "FUNCNAME",
        "GROUPS",
        "HISTCMD",
        "LINENO",
        "OPTIND",
        "PPID",
        "RANDOM",
        "SECONDS",
        "SHELLOPTS",
        "SRANDOM",
        "UID",
    }
)


def quote(value: str) -> str:
    """Single-quote ``value`` for any POSIX shell."""
    return "'" + value.replace("'", "'\\''") + "'"


def render(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield one ``export NAME='value'`` line per variable."""
    for item in env_items(ctx, items):
        if item.name in SHELL_OWNED:
            raise refuse(
                ctx,
                item.name,
                "the shell owns this name (read-only or recomputed by bash/dash), so sourcing cannot set it",
                f"rename {item.name} or export it with another format",
            )
        yield f"export {item.name}={quote(item.value)}\n"
