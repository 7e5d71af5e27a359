"""docs/troubleshooting.md lists every error message envman can raise.

Messages are harvested from the source: every ``raise``-able construction of an
``EnvmanError`` subclass (``UsageError("...")``, ``NotFound(f"...")``...) and
every failed probe outcome. A message is reduced to its literal text between
placeholders; its longest literal fragment (at least ``MIN_FRAGMENT``
characters) must appear in the page, where messages are written with
``<PLACEHOLDERS>``. Messages that are only placeholders are skipped.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "troubleshooting.md"
SOURCE = ROOT / "envman"
MIN_FRAGMENT = 8
PLACEHOLDER = "\x00"


def _error_classes() -> set[str]:
    import envman.errors as errors

    return {name for name, obj in vars(errors).items() if isinstance(obj, type) and issubclass(obj, errors.EnvmanError)}


def _skeleton(node: ast.expr) -> str | None:
    """The literal text of a str or f-string expression, placeholders as NUL; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else PLACEHOLDER for v in node.values)
    return None


def _reraised_as_own_class(node: ast.Call) -> bool:
    func = node.func
    return isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and func.func.id == "type"


def messages() -> Iterator[tuple[str, str]]:
    """(location, message skeleton) for every error message and probe failure in envman/."""
    classes = _error_classes()
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            if _reraised_as_own_class(node):  # `raise type(exc)(f"{exc.message} ...", ...)`
                text = _skeleton(node.args[0])
            elif not isinstance(node.func, ast.Name):
                continue
            elif node.func.id in classes:
                text = _skeleton(node.args[0])
            elif node.func.id == "_Outcome" and len(node.args) >= 3 and isinstance(node.args[0], ast.Constant) and not node.args[0].value:
                # a failed probe step: its message, then "; " and the hint
                text = _skeleton(node.args[2])
                text = text.split("; ")[0] if text else text
            else:
                continue
            if text is not None:
                yield f"{where}:{node.lineno}", text


def key_fragment(skeleton: str) -> str:
    """The longest literal piece of a message, whitespace collapsed, punctuation at its ends dropped.

    '' when no piece is long enough to identify the message.
    """
    pieces = [re.sub(r"^\W+|\W+$", "", " ".join(p.split())) for p in skeleton.split(PLACEHOLDER)]
    best = max(pieces, key=len, default="")
    return best if len(best) >= MIN_FRAGMENT else ""


def _page_text() -> str:
    return " ".join(PAGE.read_text(encoding="utf-8").split())


MESSAGES = sorted({(loc, key_fragment(text)) for loc, text in messages() if key_fragment(text)})


def test_harvest_finds_messages() -> None:
    """The harvest itself works (a refactor of the error classes must not make this test vacuous)."""
    assert len(MESSAGES) > 100
    assert any("is not in the schema of envman.toml" in frag for _, frag in MESSAGES)


@pytest.mark.parametrize(("location", "fragment"), MESSAGES, ids=[loc for loc, _ in MESSAGES])
def test_message_is_documented(location: str, fragment: str) -> None:
    """The message raised at this place in envman/ is explained on the troubleshooting page."""
    assert fragment in _page_text(), (
        f"{location} raises a message containing {fragment!r}, which docs/troubleshooting.md does not list: "
        "add it with its cause and fix"
    )


def test_key_fragment() -> None:
    """The fragment is the longest literal run; pure-placeholder messages give none."""
    assert key_fragment(f"{PLACEHOLDER} is not set in {PLACEHOLDER}") == "is not set in"
    assert key_fragment(f"{PLACEHOLDER} was changed (#{PLACEHOLDER}") == "was changed"
    assert key_fragment(f"{PLACEHOLDER}: {PLACEHOLDER}") == ""
    assert key_fragment("no   value\n for: ") == "no value for"
