"""The command reference is generated from the commands, complete, and current.

docs/reference/cli.md must equal what docs/scripts/gen_cli_reference.py writes
now; every command (and subcommand) and option must carry help text, and every
command's help must show an ``Example:`` block.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "scripts" / "gen_cli_reference.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_cli_reference", module)
    spec.loader.exec_module(module)
    return module


gen = _generator()


def _commands() -> list[tuple[click.Context, click.Command]]:
    from envman.cli import cli

    root = click.Context(cli, info_name="envman")
    return [(root, cli), *gen.walk(cli, root)]


def _ids() -> list[str]:
    return [ctx.command_path for ctx, _ in _commands()]


def test_reference_is_current() -> None:
    """The committed page is exactly what the generator produces from today's commands."""
    committed = gen.OUTPUT.read_text(encoding="utf-8") if gen.OUTPUT.exists() else ""
    assert committed == gen.generate(), "docs/reference/cli.md is stale: run `python docs/scripts/gen_cli_reference.py`"


def test_every_registered_command_is_documented() -> None:
    """Each name in the command registry that can be imported has a section (aliases are named in their target's)."""
    from envman.cli import COMMANDS

    page = gen.OUTPUT.read_text(encoding="utf-8")
    aliases = {a for names in gen.aliases().values() for a in names}
    for name, target in COMMANDS.items():
        if importlib.util.find_spec(target.partition(":")[0]) is None:
            continue
        if name in aliases:
            assert f"`envman {name}`" in page, f"alias {name} is not mentioned"
        else:
            assert f"\n## envman {name}\n" in page, f"envman {name} has no section"


@pytest.mark.parametrize("path", _ids())
def test_command_has_help_and_example(path: str) -> None:
    """A command's help says what it does and shows an example."""
    command = next(cmd for c, cmd in _commands() if c.command_path == path)
    assert (command.help or "").strip(), f"`{path}` has no help text"
    kinds = [kind for kind, _ in gen.help_blocks(command.help or "")]
    assert "example" in kinds, f"`{path}`: its help has no `\\b` + `Example:` block"


@pytest.mark.parametrize("path", _ids())
def test_every_option_has_help(path: str) -> None:
    """Every visible option of the command explains itself."""
    ctx, command = next((c, cmd) for c, cmd in _commands() if c.command_path == path)
    missing = [p.opts[0] for p in command.get_params(ctx)
               if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()]
    assert not missing, f"`{path}`: options without help: {', '.join(missing)}"


def test_example_commands_name_real_commands() -> None:
    """Each example line runs envman with a command that exists (catches renamed commands left in examples)."""
    from envman.cli import cli

    root = click.Context(cli, info_name="envman")
    names = set(cli.list_commands(root)) | {"log"}
    wrong = []
    for ctx, command in _commands():
        for kind, lines in gen.help_blocks(command.help or ""):
            if kind != "example":
                continue
            for line in lines:
                words = line.replace("|", " ").split()
                if "envman" in words:
                    rest = words[words.index("envman") + 1:]
                    while rest and rest[0].startswith("-"):
                        rest = rest[2:] if rest[0] in ("-C", "--project-dir") else rest[1:]
                    if rest and rest[0] not in names:
                        wrong.append(f"{ctx.command_path}: {line.strip()}")
    assert not wrong, "examples naming unknown commands:\n" + "\n".join(wrong)


def test_escape_keeps_code_spans() -> None:
    """Prose is escaped for Markdown, code spans are left alone."""
    assert gen.escape("names like *_KEY and `a*b` <ENV>") == r"names like \*\_KEY and `a*b` \<ENV\>"


def test_help_blocks_split_paragraphs_and_example() -> None:
    """Click's \\b paragraphs keep their lines; the Example paragraph is recognised and dedented."""
    text = "Do it.\n\nMore words\nwrapped.\n\n\b\nExample:\n  envman do x\n  envman do y\n"
    assert list(gen.help_blocks(text)) == [
        ("para", ["Do it."]), ("para", ["More words wrapped."]), ("example", ["envman do x", "envman do y"]),
    ]


def test_home_page_status_capture_is_current() -> None:
    """The `envman status` shown on docs/index.md is what the shipped demo prints today (rotation ages aside)."""
    index = gen.INDEX.read_text(encoding="utf-8")
    fresh = gen.with_status(index, gen.status_capture())
    assert gen.same_capture(index, fresh), "docs/index.md's status capture is stale: run `python docs/scripts/gen_cli_reference.py`"
