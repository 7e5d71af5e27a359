"""docker ``--env-file``: verbatim ``NAME=VALUE`` lines.

Docker's rules (docs: "docker container run", section "Set environment
variables (-e, --env, --env-file)"; code: docker/cli ``opts/file.go``
``parseKeyValueFile``): lines are read with Go's ``bufio.Scanner``; a line whose
first non-blank character is ``#`` is a comment; everything after the first
``=`` is the value, kept verbatim: quotes are not removed, nothing is escaped or
expanded, trailing blanks stay. Hence refused: a newline (ends the line), a
trailing carriage return (the scanner drops a CR before the line end) and a
line of 64 KiB or more (the scanner stops with "token too long" and docker
rejects the whole file). The same files suit AWS ECS environment files and
``kubectl create ... --from-env-file``; Docker Compose v2 parses ``env_file``
with its own dotenv rules unless the entry sets ``format: raw``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from envman.exporters._common import ExportContext, ExportItem, env_items, refuse, utf8_len

# bufio.MaxScanTokenSize: the line plus its "\n" must fit in 64 KiB.
MAX_LINE_BYTES = 64 * 1024 - 1


def render(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield one ``NAME=VALUE`` line per variable."""
    for item in env_items(ctx, items):
        if "\n" in item.value:
            raise refuse(ctx, item.name, "the value contains a newline; docker env files have no multi-line values")
        if item.value.endswith("\r"):
            raise refuse(ctx, item.name, "the value ends with a carriage return, which docker drops at the line end")
        line = f"{item.name}={item.value}"
        if utf8_len(line) > MAX_LINE_BYTES:
            raise refuse(
                ctx,
                item.name,
                "the line is 64 KiB or longer; docker stops reading env files at such a line (token too long)",
            )
        yield line + "\n"
