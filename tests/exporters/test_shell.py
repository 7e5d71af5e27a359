"""shell: `export NAME='...'` sourced by bash and dash gives every value back exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_consumers import VALUE_LISTS, expected, export, items_from, ours, source_in, split, tricky_items
from hypothesis import HealthCheck, given, settings

from envman.errors import ExportRefused
from envman.exporters import ExportItem, render

SHELLS = ["bash", "dash"]


@pytest.mark.parametrize("shell", SHELLS)
def test_tricky_values_round_trip(shell: str, tmp_path: Path) -> None:
    """Every tricky value, newlines, CR, quotes and 64 KiB included, reaches a child process unchanged."""
    accepted, refused = split("shell", tricky_items())
    assert refused == {}
    path = export("shell", accepted, tmp_path / "vars.sh")
    assert ours(source_in(shell, path)) == expected(accepted)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=VALUE_LISTS)
def test_generated_values_round_trip(values: list[str], tmp_path: Path) -> None:
    """Any text without NUL is exact in both shells; the shell target never refuses a value."""
    items = items_from(values)
    path = export("shell", items, tmp_path / "vars.sh")
    for shell in SHELLS:
        assert ours(source_in(shell, path)) == expected(items), shell


def test_quote_escaping_is_posix() -> None:
    """A single quote is written as '\\'' and nothing else is escaped."""
    text = render("shell", [ExportItem("A", "it's $HOME", False)], env="e", project="p")
    assert text == "export A='it'\\''s $HOME'\n"


@pytest.mark.parametrize("name", ["UID", "RANDOM", "_", "SECONDS"])
def test_shell_owned_names_are_refused(name: str) -> None:
    """Names bash or dash keep for themselves cannot be set by sourcing, so they are refused."""
    with pytest.raises(ExportRefused, match=name):
        render("shell", [ExportItem(name, "1", False)], env="e", project="p")


def test_nul_is_refused() -> None:
    """NUL is the one byte no shell variable can hold."""
    with pytest.raises(ExportRefused, match="NUL"):
        render("shell", [ExportItem("A", "a\x00b", False)], env="e", project="p")
