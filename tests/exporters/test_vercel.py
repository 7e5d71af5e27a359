"""vercel: the script feeds each exact value to `vercel env add` on stdin, under dash and bash."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_consumers import (
    VALUE_LISTS,
    expected,
    items_from,
    label,
    run_vercel_script,
    split,
    tricky_items,
    vercel_stored,
)
from hypothesis import HealthCheck, given, settings

from envman.errors import ExportRefused
from envman.exporters import ExportItem, ExportOptions, render

REFUSED = {
    "empty": "empty stdin",
    "trailing newline": "strips the line break",
    "only newline": "strips the line break",
    "64 KiB": "64 KiB",
}


def stored(items: list[ExportItem], shell: str, workdir: Path, options: ExportOptions | None = None) -> dict[str, str]:
    script = workdir / "vercel.sh"
    script.write_text(render("vercel", items, env="production", project="p", options=options), encoding="utf-8")
    calls = run_vercel_script(shell, script, workdir)
    result: dict[str, str] = {}
    for name, (stdin, environment) in calls.items():
        assert environment == (options.vercel_environment if options and options.vercel_environment else "production")
        value = vercel_stored(stdin)
        assert value is not None, f"{name}: empty stdin"
        result[name] = value
    return result


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_tricky_values_round_trip(shell: str, tmp_path: Path) -> None:
    """What the CLI stores equals the value; values it would alter are refused."""
    accepted, refused = split("vercel", tricky_items(secret=True))
    assert {label(n): str(e) for n, e in refused.items()}.keys() == REFUSED.keys()
    for name, exc in refused.items():
        assert REFUSED[label(name)] in str(exc)
    assert stored(accepted, shell, tmp_path) == expected(accepted)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=VALUE_LISTS)
def test_generated_values_round_trip(values: list[str], tmp_path: Path) -> None:
    """Arbitrary values reach the CLI's stdin and are stored unchanged, or are refused."""
    accepted, _ = split("vercel", items_from(values, secret=True))
    assert stored(accepted, "dash", tmp_path) == expected(accepted)


def test_values_never_reach_the_command_line() -> None:
    """The value appears only as printf's argument (a shell builtin), never as vercel's."""
    text = render("vercel", [ExportItem("TOKEN", "s3cret", True)], env="production", project="p")
    line = next(line for line in text.splitlines() if "vercel env add" in line)
    assert line == "printf '%s' 's3cret' | vercel env add TOKEN 'production'"


def test_environment_option(tmp_path: Path) -> None:
    """The Vercel environment can differ from the envman environment name."""
    options = ExportOptions(vercel_environment="preview")
    assert stored([ExportItem("A", "1", False)], "dash", tmp_path, options) == {"A": "1"}


def test_bad_environment_is_refused() -> None:
    """An environment name that is not a Vercel slug is refused before any output."""
    with pytest.raises(ExportRefused):
        render("vercel", [], env="prod; rm -rf /", project="p")
