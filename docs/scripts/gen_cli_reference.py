"""Write docs/reference/cli.md from the click commands themselves.

    python docs/scripts/gen_cli_reference.py          # rewrite the generated parts
    python docs/scripts/gen_cli_reference.py --check  # exit 1 if any is stale

Every command and subcommand registered in ``envman.cli.COMMANDS`` (through the
LazyGroup's ``list_commands``/``get_command``) gets its usage, help text, example
and options. ``tests/docs/test_cli_reference.py`` regenerates the page in memory
and fails when the committed file differs.

It also refreshes the ``envman status`` capture on the home page (docs/index.md),
taken by running the installed ``envman`` on the demo project shipped at the
repository's root, between the ``status:begin`` and ``status:end`` comments.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "reference" / "cli.md"
INDEX = ROOT / "docs" / "index.md"
_STATUS_BLOCK = re.compile(r"(<!-- status:begin[^\n]*-->\n)(.*?)(<!-- status:end -->)", re.S)
# the only part of the capture that changes by itself: how long ago a key was rotated
_AGE = re.compile(r"\b\d+d ago\b")

_CODE_SPAN = re.compile(r"(`[^`]*`)")
_MD_SPECIAL = re.compile(r"([\\*_\[\]<>])")


def walk(group: click.Group, ctx: click.Context) -> Iterator[tuple[click.Context, click.Command]]:
    """Every command below ``group``, depth first in list order, each with its own context."""
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = click.Context(command, info_name=name, parent=ctx)
        yield sub, command
        if isinstance(command, click.Group):
            yield from walk(command, sub)


def aliases() -> dict[str, list[str]]:
    """Command name -> other names that run the same command (e.g. ``history`` <- ``log``)."""
    from envman.cli import COMMANDS

    by_target: dict[str, list[str]] = {}
    for name, target in COMMANDS.items():
        by_target.setdefault(target, []).append(name)
    out: dict[str, list[str]] = {}
    for names in by_target.values():
        if len(names) > 1:
            out[names[0]] = names[1:]
    return out


def escape(text: str) -> str:
    """Markdown-escape prose, leaving `code spans` as they are."""
    parts = _CODE_SPAN.split(text)
    return "".join(p if p.startswith("`") and p.endswith("`") and len(p) > 1 else _MD_SPECIAL.sub(r"\\\1", p) for p in parts)


def help_blocks(text: str) -> Iterator[tuple[str, list[str]]]:
    """Split a click help text into ("para", lines), ("pre", lines) and ("example", lines) blocks.

    A paragraph after click's ``\\b`` marker keeps its line breaks; one that starts
    with ``Example:`` or ``Examples:`` is the command's example.
    """
    import inspect

    text = inspect.cleandoc(text)
    for raw in re.split(r"\n\s*\n", text):
        lines = raw.splitlines()
        if not lines:
            continue
        if lines[0].strip() == "\b":
            body = lines[1:]
            if body and body[0].strip().rstrip(":") in ("Example", "Examples"):
                code = body[1:]
                indent = min((len(c) - len(c.lstrip()) for c in code if c.strip()), default=0)
                yield "example", [c[indent:] for c in code]
            else:
                yield "pre", body
        else:
            yield "para", [" ".join(line.strip() for line in lines)]


def options(ctx: click.Context, command: click.Command) -> list[tuple[str, str]]:
    """(option syntax, help) for every visible option except --help."""
    rows = []
    help_names = set(ctx.help_option_names)
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param.hidden:
            continue
        if set(param.opts) & help_names and param.is_flag and param.expose_value is False:
            continue
        record = param.get_help_record(ctx)
        if record is not None:
            rows.append(record)
    return rows


def usage(ctx: click.Context, command: click.Command) -> str:
    return " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])


def render_command(ctx: click.Context, command: click.Command, alias_names: list[str]) -> list[str]:
    # the root and its commands share level 2 (a flat table of contents); a group's subcommands go one deeper
    depth = max(2, ctx.command_path.count(" ") + 1)
    out = [f"{'#' * depth} {ctx.command_path}", ""]
    out += ["```text", usage(ctx, command), "```", ""]
    for kind, lines in help_blocks(command.help or ""):
        if kind == "para":
            out += [escape(lines[0]), ""]
        elif kind == "pre":
            out += ["```text", *lines, "```", ""]
        else:
            out += ["Example:", "", "```sh", *lines, "```", ""]
    if alias_names:
        names = ", ".join(f"`envman {a}`" for a in alias_names)
        out += [f"Also available as {names}.", ""]
    rows = options(ctx, command)
    if rows:
        out += ["| Option | Description |", "|---|---|"]
        for syntax, text in rows:
            out.append(f"| `{syntax.replace('|', '&#124;')}` | {escape(text).replace('|', '&#124;')} |")
        out.append("")
    if isinstance(command, click.Group):
        subs = [n for n in command.list_commands(ctx) if not (c := command.get_command(ctx, n)) or not c.hidden]
        out += ["Subcommands: " + ", ".join(f"`{n}`" for n in subs) + ".", ""]
    return out


def generate() -> str:
    """The whole reference page as Markdown."""
    from envman.cli import cli

    root = click.Context(cli, info_name="envman")
    names = aliases()
    lines = [
        "# Command reference",
        "",
        "<!-- Generated by docs/scripts/gen_cli_reference.py from the commands' own help. Do not edit by hand: -->",
        "<!-- change the docstrings and options, then run `python docs/scripts/gen_cli_reference.py`. -->",
        "",
        "Every command accepts `-h`/`--help`. Exit codes: 0 success, 1 when a check, diff or scan "
        "finds something (or a probe fails), 2 on a usage or input error; errors are one line on "
        "standard error, with what to do next.",
        "",
        "Commands: " + ", ".join(f"[`{ctx.command_path.removeprefix('envman ')}`](#{anchor(ctx.command_path)})"
                                  for ctx, _ in walk(cli, root)) + ".",
        "",
    ]
    lines += render_command(root, cli, [])
    for ctx, command in walk(cli, root):
        lines += render_command(ctx, command, names.get(ctx.info_name or "", []) if ctx.parent is root else [])
    return "\n".join(lines).rstrip("\n") + "\n"


def anchor(title: str) -> str:
    """The id MkDocs' toc extension gives a heading (default slugify)."""
    slug = re.sub(r"[^\w\s-]", "", title).strip().lower()
    return re.sub(r"[-\s]+", "-", slug)


def status_capture() -> str:
    """``envman status`` run for real on the shipped demo, as a console block."""
    import os
    import shutil
    import subprocess

    exe = shutil.which("envman", path=str(Path(sys.executable).parent)) or shutil.which("envman") or "envman"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVMAN_")}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    proc = subprocess.run([exe, "status"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    lines = [line.rstrip() for line in proc.stdout.rstrip("\n").splitlines()]
    return "```console\n$ envman status\n" + "\n".join(lines) + "\n```\n"


def with_status(index: str, capture: str) -> str:
    """The home page with ``capture`` between its status markers."""
    if not _STATUS_BLOCK.search(index):
        raise SystemExit("docs/index.md has no <!-- status:begin --> ... <!-- status:end --> block")
    return _STATUS_BLOCK.sub(lambda m: m.group(1) + capture + m.group(3), index, count=1)


def same_capture(a: str, b: str) -> bool:
    """Equal except for rotation ages, which grow by themselves every day."""
    return _AGE.sub("Nd ago", a) == _AGE.sub("Nd ago", b)


def main(argv: list[str]) -> int:
    text = generate()
    index = INDEX.read_text(encoding="utf-8")
    fresh_index = with_status(index, status_capture())
    if "--check" in argv:
        stale = []
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            stale.append(str(OUTPUT.relative_to(ROOT)))
        if not same_capture(index, fresh_index):
            stale.append(str(INDEX.relative_to(ROOT)))
        if stale:
            print(f"stale: {', '.join(stale)}; run python docs/scripts/gen_cli_reference.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    INDEX.write_text(fresh_index, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} and the status capture in {INDEX.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1:]))
