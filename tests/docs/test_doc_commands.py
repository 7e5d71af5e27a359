"""Every envman command written in the docs (and the README) parses: the command exists and takes those options and arguments.

The quickstart runs for real (test_quickstart.py); the guides show commands that
need a cluster, a provider or CI around them, so here each ``envman ...``
invocation in their shell, console and YAML blocks is parsed by envman's own
click commands, without running it. A renamed option or a removed command then
fails here instead of in a reader's terminal.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from tests.docs import consoledoc

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# the generated reference only restates the commands' own help; the README's examples are checked too
PAGES = [ROOT / "README.md", *sorted(p for p in DOCS.rglob("*.md") if p.relative_to(DOCS).parts[0] != "reference")]
LANGS = {"sh", "bash", "console", "yaml", "shell", ""}

_PROCESS_SUBSTITUTION = re.compile(r"<\([^()]*\)")
_COMMAND_SUBSTITUTION = re.compile(r"\"?\$\([^()]*\)\"?")
_START = re.compile(r"(?:^|[\s|;&(]|run:\s)envman\s")
_COMMENT = re.compile(r"(^|\s)#.*$")
_STOP = {"|", "||", "&&", ";", ">", ">>", "<", "&", ")", "2>", "2>&1"}


def invocations(page: Path) -> list[tuple[int, list[str]]]:
    """(line, argv after `envman`) for each envman command in the page's code blocks."""
    found: list[tuple[int, list[str]]] = []
    for block in consoledoc.blocks(page.read_text(encoding="utf-8")):
        if block.lang not in LANGS:
            continue
        lines = block.lines
        if block.lang == "console":
            lines = [c.text for c in consoledoc.commands(block)]
        joined: list[str] = []
        for line in lines:
            if joined and joined[-1].endswith("\\"):
                joined[-1] = joined[-1][:-1] + " " + line.strip()
            else:
                joined.append(line)
        for offset, line in enumerate(joined, 1):
            text = _COMMENT.sub("", _COMMAND_SUBSTITUTION.sub("VALUE", _PROCESS_SUBSTITUTION.sub("/dev/stdin", line)))
            for match in _START.finditer(text):
                lexer = shlex.shlex(text[match.end():], posix=True, punctuation_chars="|&;<>()")
                lexer.whitespace_split = True
                lexer.commenters = "#"
                argv: list[str] = []
                try:
                    for token in lexer:
                        if token in _STOP or set(token) <= set("|&;<>()"):
                            break
                        argv.append(token)
                except ValueError:
                    continue  # inside a quoted string (e.g. a hook script written with printf): not a command line
                found.append((block.line + offset, argv))
    return found


def parse(argv: list[str]) -> None:
    """Parse ``envman ARGV`` down to the leaf command, as click would before running it."""
    from envman.cli import cli

    ctx = cli.make_context("envman", list(argv))
    command: click.Command = cli
    while isinstance(command, click.Group):
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        if not rest:
            return
        name, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None, f"no command {name!r}"
        ctx = sub.make_context(name or "", list(args), parent=ctx)
        command = sub


CASES = [(f"{page.relative_to(ROOT)}:{line}", argv) for page in PAGES for line, argv in invocations(page)]


def test_docs_show_commands() -> None:
    """The extraction finds the guides' commands (it must not silently find none)."""
    assert len(CASES) > 60


@pytest.mark.parametrize(("where", "argv"), CASES, ids=[w for w, _ in CASES])
def test_command_parses(where: str, argv: list[str]) -> None:
    """`envman ARGV` as written at this place in the docs is accepted by the command line."""
    if argv and argv[0] in ("-h", "--help", "--version"):
        return
    try:
        parse(argv)
    except click.ClickException as exc:
        pytest.fail(f"{where}: `envman {shlex.join(argv)}`: {exc.format_message()}", pytrace=False)


def test_extraction() -> None:
    """Pipes, redirections, substitutions and comments end or replace what belongs to envman."""
    page_text = (
        "```sh\n"
        "envman export production --format fly | fly secrets import\n"
        'envman set staging URL "$(envman get staging OLD)"   # comment\n'
        "envman import <(sops decrypt x.env) --env production\n"
        "envman scan --git --format sarif > out.sarif\n"
        "```\n"
        "```yaml\n"
        "      - run: envman check --format sarif -o x.sarif\n"
        "```\n"
    )
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.md"
        page.write_text(page_text)
        found = [argv for _, argv in invocations(page)]
    assert found == [
        ["export", "production", "--format", "fly"],
        ["set", "staging", "URL", "VALUE"],
        ["import", "/dev/stdin", "--env", "production"],
        ["scan", "--git", "--format", "sarif"],
        ["check", "--format", "sarif", "-o", "x.sarif"],
    ]
