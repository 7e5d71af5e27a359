"""github-actions: $GITHUB_ENV heredocs read back by the runner's rules, masks registered for every secret."""

from __future__ import annotations

import pytest
from export_consumers import (
    VALUE_LISTS,
    dotnet_blank,
    expected,
    github_env,
    github_masks,
    items_from,
    split,
    tricky_items,
)
from hypothesis import given, settings

from envman.errors import ExportRefused
from envman.exporters import ExportItem, ExportOptions, render

MASK = ExportOptions(github_section="mask")


def env_section(items: list[ExportItem]) -> str:
    return render("github-actions", items, env="e", project="p")


def assert_masked(items: list[ExportItem]) -> None:
    """Every secret's value and each of its non-blank lines is registered; nothing else is."""
    masks = github_masks(render("github-actions", items, env="e", project="p", options=MASK))
    wanted: set[str] = set()
    for item in items:
        if item.secret and not dotnet_blank(item.value):
            wanted.add(item.value)
            lines = item.value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            wanted.update(line for line in lines if not dotnet_blank(line))
    assert set(masks) == wanted


@pytest.mark.parametrize("windows", [False, True])
def test_tricky_values_round_trip(windows: bool) -> None:
    """Linux and Windows runners read back every accepted tricky value; secrets are all masked."""
    accepted, refused = split("github-actions", tricky_items(secret=True))
    assert refused == {}
    assert github_env(env_section(accepted), windows=windows) == expected(accepted)
    assert_masked(accepted)


@settings(max_examples=200, deadline=None)
@given(values=VALUE_LISTS)
def test_generated_values_round_trip(values: list[str]) -> None:
    """Arbitrary values: exact on both runner OSes unless refused; every secret line is masked."""
    accepted, _ = split("github-actions", items_from(values, secret=True))
    text = env_section(accepted)
    assert github_env(text) == expected(accepted)
    assert github_env(text, windows=True) == expected(accepted)
    assert_masked(accepted)


def test_value_cannot_inject_variables() -> None:
    """A value holding a would-be delimiter line and NAME=VALUE lines stays one value."""
    evil = "x\nEOF\nINJECTED=1\nghadelimiter_1\nEVIL<<EOF\ny\nEOF"
    assert github_env(env_section([ExportItem("A", evil, True)])) == {"A": evil}


def test_delimiters_are_random() -> None:
    """Two exports of the same value use different delimiters, so a value cannot predict one."""
    item = ExportItem("A", "v", False)
    assert env_section([item]).splitlines()[0] != env_section([item]).splitlines()[0]


def test_non_secrets_are_not_masked() -> None:
    """Only secrets get ::add-mask:: lines; the env section never contains them."""
    items = [ExportItem("PUBLIC", "visible", False), ExportItem("TOKEN", "hidden", True)]
    assert github_masks(render("github-actions", items, env="e", project="p", options=MASK)) == ["hidden"]
    assert "add-mask" not in env_section(items)


def test_node_options_is_refused() -> None:
    """The runner refuses NODE_OPTIONS from $GITHUB_ENV, so the export does too."""
    with pytest.raises(ExportRefused, match="NODE_OPTIONS"):
        env_section([ExportItem("NODE_OPTIONS", "--x", False)])


def test_trailing_carriage_return_is_refused() -> None:
    """A Windows runner would drop a CR at the end of the value, so it is refused."""
    with pytest.raises(ExportRefused, match="carriage return"):
        env_section([ExportItem("A", "value\r", False)])
    assert github_env(env_section([ExportItem("A", "a\rb", False)]), windows=True) == {"A": "a\rb"}
