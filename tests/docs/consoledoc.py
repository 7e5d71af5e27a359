"""Run the shell sessions written in a Markdown page and compare their output.

The convention, for ```console blocks:

- a line starting with ``$ `` is a command; following lines starting with ``> ``
  continue it (a here-document, a long command), as a shell's PS2 prompt shows;
- every other line, up to the next command, is the output the command prints
  (standard output and standard error together, in order);
- an output line that is exactly ``...`` stands for any number of lines (also
  none); ``...`` inside a line stands for any text on that line;
- a command exits 0 unless it ends with a comment ``# exit N``;
- a block right after the comment ``<!-- not tested: REASON -->`` is not run.

Commands run one after the other in bash, each in a fresh process that starts
in the previous one's folder with its exported variables, so ``cd`` and
``export`` carry over as they would in a terminal.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_FENCE = re.compile(r"^```(\w*)\s*$")
_SKIP = re.compile(r"<!--\s*not tested:")
_EXIT = re.compile(r"#\s*exit\s+(\d+)\b[^\n]*$")
WILDCARD = "..."


@dataclass
class Command:
    """One command of a page and the output the page shows for it."""

    text: str  # the command, continuation lines joined with newlines
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0
    line: int = 0  # where the command starts in the page (1-based)


@dataclass
class Block:
    lang: str
    lines: list[str]
    line: int  # the line of the opening fence (1-based)
    skipped: bool


def blocks(markdown: str) -> list[Block]:
    """Every fenced code block of a page, with whether a ``not tested`` comment precedes it."""
    out: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        out.append(Block(m.group(1), body, start + 1, bool(_SKIP.search(before))))
        i += 1
    return out


def commands(block: Block) -> list[Command]:
    """The commands of a ```console block, each with its expected output."""
    out: list[Command] = []
    for offset, raw in enumerate(block.lines, start=1):
        if raw.startswith("$ "):
            out.append(Command(raw[2:], line=block.line + offset))
        elif raw.startswith("> ") and out and not out[-1].expected:
            out[-1].text += "\n" + raw[2:]
        elif raw.rstrip() == ">" and out and not out[-1].expected:
            out[-1].text += "\n"
        elif out:
            out[-1].expected.append(raw.rstrip())
        elif raw.strip():
            raise ValueError(f"line {block.line + offset}: output before the first `$ ` command: {raw!r}")
    for cmd in out:
        first_line = cmd.text.splitlines()[0] if cmd.text else ""
        m = _EXIT.search(first_line)
        if m:
            cmd.exit_code = int(m.group(1))
        while cmd.expected and not cmd.expected[-1]:
            cmd.expected.pop()
    return out


def _line_matches(pattern: str, actual: str) -> bool:
    if WILDCARD not in pattern:
        return pattern == actual
    parts = [re.escape(p) for p in pattern.split(WILDCARD)]
    return re.fullmatch(".*".join(parts), actual) is not None


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """True when ``actual`` lines fit ``expected`` with its ``...`` wildcards."""
    memo: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(expected):
            result = j == len(actual)
        elif expected[i] == WILDCARD:
            result = any(match(i + 1, k) for k in range(j, len(actual) + 1))
        else:
            result = j < len(actual) and _line_matches(expected[i], actual[j]) and match(i + 1, j + 1)
        memo[key] = result
        return result

    return match(0, 0)


class Session:
    """A bash 'terminal' whose folder and exported variables persist between commands."""

    def __init__(self, state: Path, cwd: Path, env: dict[str, str]) -> None:
        self.state = state
        state.mkdir(parents=True, exist_ok=True)
        (state / "cwd").write_text(str(cwd))
        (state / "env").write_text("")
        self.env = env

    def run(self, command: str, timeout: float = 120) -> tuple[int, str]:
        """Run one command; return its exit code and its combined output."""
        script = (
            f'cd "$(cat {self.state}/cwd)" || exit 97\n'
            f". {self.state}/env\n"
            f"{{\n{command}\n}} 2>&1\n"
            "__rc=$?\n"
            f"export -p > {self.state}/env\n"
            f"pwd > {self.state}/cwd\n"
            "exit $__rc\n"
        )
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", script], env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
        )
        return proc.returncode, proc.stdout


def describe_mismatch(page: str, cmd: Command, code: int, output: str) -> str:
    shown = "\n".join(f"    {line}" for line in cmd.expected) or "    (nothing)"
    got = "\n".join(f"    {line}" for line in output.rstrip("\n").splitlines()) or "    (nothing)"
    return (
        f"{page}:{cmd.line}: `{cmd.text.splitlines()[0]}`\n"
        f"  exit code: expected {cmd.exit_code}, got {code}\n"
        f"  the page shows:\n{shown}\n"
        f"  the command printed:\n{got}"
    )
