"""What the command modules share: the common options, opening the project, reading a value.

Kept apart from the commands themselves so that a command module imports no
other command's definitions (each click option costs start-up time).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from envman.errors import UsageError

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
reveal_option = click.option("--reveal", is_flag=True, help="Show secret values in plaintext (needs the private key).")


def open_project() -> Any:
    from envman.ops import Project

    return Project.open()


def _without_newline(data: str) -> str:
    """Drop the one line ending `echo` or an editor adds; everything else is the value, byte for byte."""
    if data.endswith("\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith("\n") else data


def read_value(var: str, *, secret: bool, from_file: str | None) -> str:
    """A value from --from-file, piped stdin, or a hidden prompt on a terminal."""
    # Bytes, decoded here: a text-mode read would turn a "\r" inside the value into "\n",
    # and a stray non-UTF-8 byte would surface as a crash instead of a message.
    if from_file is not None:
        try:
            raw = Path(from_file).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --from-file {from_file}: {exc.strerror}", "check the path") from None
        try:
            return _without_newline(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise UsageError(f"--from-file {from_file} is not UTF-8 text", "convert it to UTF-8") from None
    stdin = sys.stdin
    if stdin is None:
        raise UsageError(f"no value for {var}", "pipe it on stdin or use --from-file")
    if not stdin.isatty():
        buffer = getattr(stdin, "buffer", None)
        if buffer is None:
            return _without_newline(stdin.read())
        try:
            return _without_newline(buffer.read().decode("utf-8"))
        except UnicodeDecodeError:
            raise UsageError(f"the value for {var} on stdin is not UTF-8 text", "convert it to UTF-8") from None
    return str(click.prompt(f"{var}", hide_input=secret, confirmation_prompt=secret, prompt_suffix=": "))
