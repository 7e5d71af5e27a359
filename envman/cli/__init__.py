"""The command line: the only layer that imports click. Commands load lazily so
`envman get` pays only for what `get` uses."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NoReturn

import click

from envman import __version__

# command name -> "module:attribute"; modules are imported only when the command runs.
COMMANDS: dict[str, str] = {
    "init": "envman.cli.core:init_cmd",
    "import": "envman.cli.core:import_cmd",
    "set": "envman.cli.core:set_cmd",
    "unset": "envman.cli.core:unset_cmd",
    "get": "envman.cli.core:get_cmd",
    "show": "envman.cli.core:show_cmd",
    "status": "envman.cli.core:status_cmd",
    "history": "envman.cli.core:history_cmd",
    "log": "envman.cli.core:history_cmd",
    "repair": "envman.cli.core:repair_cmd",
    "ledger": "envman.cli.core:ledger_group",
    # lifecycle
    "diff": "envman.cli.lifecycle:diff_cmd",
    "promote": "envman.cli.lifecycle:promote_cmd",
    "rollback": "envman.cli.lifecycle:rollback_cmd",
    "mark-good": "envman.cli.ownership:mark_good_cmd",
    "rotate": "envman.cli.ownership:rotate_cmd",
    "owner": "envman.cli.ownership:owner_cmd",
    "handoff": "envman.cli.ownership:handoff_cmd",
    "rekey": "envman.cli.rekey:rekey_cmd",
    # checks and live verify
    "check": "envman.cli.checks:check_cmd",
    "verify": "envman.cli.checks:verify_cmd",
    # exports
    "export": "envman.cli.export:export_cmd",
    "run": "envman.cli.export:run_cmd",
    # leak scanning
    "scan": "envman.cli.scan:scan_cmd",
    # team store
    "backend": "envman.cli.backend:backend_group",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from importlib.util import find_spec

        names = (n for n, target in COMMANDS.items() if n != "log" and find_spec(target.partition(":")[0]) is not None)
        return sorted({*super().list_commands(ctx), *names})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module, _, attr = COMMANDS[cmd_name].partition(":")
            try:
                command = getattr(importlib.import_module(module), attr)
            except ModuleNotFoundError as exc:
                if exc.name != module:  # a dependency of the command is missing: not the same as no command
                    raise
                return None
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.option("-C", "--project-dir", type=click.Path(file_okay=False), help="Run as if started in this folder.")
# the version comes from the package itself: no metadata lookup (slow, and missing when run from a source tree)
@click.version_option(version=__version__, message="envman %(version)s")
def cli(project_dir: str | None) -> None:
    """Keep an application's configuration apart per environment and move it safely.

    \b
    Example:
      envman status
      envman diff staging production
      envman promote staging production --dry-run
    """
    if project_dir:
        try:
            os.chdir(project_dir)
        except OSError as exc:
            raise click.BadParameter(f"cannot enter {project_dir}: {exc.strerror}", param_hint="--project-dir") from None


# click >= 8.2 raises NoArgsIsHelpError for a bare `envman`; older click prints the help and exits by itself.
# (Naming a missing attribute in an `except` clause would turn every other error into a traceback.)
_NO_ARGS_IS_HELP: tuple[type[Exception], ...] = tuple(
    c for c in (getattr(click.exceptions, "NoArgsIsHelpError", None),) if isinstance(c, type)
)


def _one_line(message: str) -> str:
    """The message as one short, inert line: control characters escaped, any huge token shortened.

    click quotes arguments as given, so an argument holding a carriage return or an escape
    sequence would otherwise reach the terminal raw, and a 10 MB argument would be echoed whole.
    """
    import re

    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in message.replace("\n", " "))
    return re.sub(r"\S{201,}", lambda m: f"{m[0][:80]}…({len(m[0])} characters)…{m[0][-20:]}", text)


def _forget_locals() -> None:
    """Clear the local variables of the frames the exception being handled went through (and of those it chains).

    A secret read from stdin sits in them as plain text; anything that renders a traceback
    with its locals (rich, crash reporters, the SystemExit's __context__) must not find it.
    The traceback itself — files and lines — stays intact for ENVMAN_DEBUG.
    """
    import traceback

    exc, seen = sys.exc_info()[1], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


def _fail(message: str, code: int) -> NoReturn:
    from envman.cli.output import error_line

    _forget_locals()
    error_line(_one_line(message))
    sys.exit(code)


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point and the one error boundary: every failure becomes one line and an exit code."""
    from envman.errors import EnvmanError

    try:
        result = cli.main(args=argv, prog_name="envman", standalone_mode=False)
    except EnvmanError as exc:
        _fail(str(exc), exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 2)
    except _NO_ARGS_IS_HELP as exc:
        ctx = getattr(exc, "ctx", None)
        click.echo(ctx.get_help() if ctx is not None else "")
        sys.exit(2)
    except click.ClickException as exc:
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f"; see `{ctx.command_path} --help`"
        option = getattr(exc, "option_name", "") or ""
        if isinstance(exc, click.NoSuchOption) and option[1:].replace(".", "", 1).isdigit():
            hint = f"; a value that starts with '-' goes after `--`, e.g. `envman set ENV VAR -- {option}`"
        _fail(exc.format_message().replace("\n", " ").rstrip(".") + hint, 2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted; nothing was changed", 130)
    except BrokenPipeError:
        # stdout closed early (e.g. `envman history | head`): not an error worth a message
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # the boundary: a bug must still not print a traceback
        if os.environ.get("ENVMAN_DEBUG"):
            _forget_locals()
            raise
        # only the type: an exception's text could carry a value
        _fail(f"internal error ({type(exc).__name__}); please report it, and re-run with ENVMAN_DEBUG=1 for details", 2)
    # with standalone_mode=False click returns the code of a `run_with_exit` instead of exiting
    sys.exit(result if isinstance(result, int) else 0)


def run_with_exit(code: int) -> NoReturn:
    """End a command with ``code`` (1 = something found) after its output is written."""
    raise click.exceptions.Exit(code)


def ctx_obj(ctx: click.Context) -> dict[str, Any]:
    return ctx.ensure_object(dict)
