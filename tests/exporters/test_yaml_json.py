"""yaml, json and heroku: loaders of both YAML versions and JSON parsers read every value back as the same string."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml as pyyaml
from export_consumers import VALUE_LISTS, NodeTools, expected, export, items_from, label, split, tricky_items
from hypothesis import given, settings
from ruamel.yaml import YAML

from envman.errors import ExportRefused
from envman.exporters import ExportItem, render


def load_yaml_1_1(text: str) -> object:
    """PyYAML implements YAML 1.1, where yes/no/on/off are booleans."""
    return pyyaml.safe_load(text)


def load_yaml_1_2(text: str) -> object:
    """ruamel.yaml implements YAML 1.2."""
    return YAML(typ="safe", pure=True).load(io.StringIO(text))


@pytest.mark.parametrize("load", [load_yaml_1_1, load_yaml_1_2])
def test_yaml_tricky_values_stay_strings(load: object, tmp_path: Path) -> None:
    """1e3, 0o17, yes, no, on, null, ~ and every other tricky value load as the original string."""
    accepted, refused = split("yaml", tricky_items())
    assert refused == {}
    text = export("yaml", accepted, tmp_path / "vars.yaml").read_text(encoding="utf-8")
    assert load(text) == expected(accepted)  # type: ignore[operator]


def test_yaml_keys_that_look_like_booleans_stay_strings() -> None:
    """Keys such as ON or Y would be booleans in YAML 1.1 if they were not quoted."""
    items = [ExportItem(name, "1", False) for name in ("ON", "Y", "NO", "NULL", "TRUE")]
    text = render("yaml", items, env="e", project="p")
    for load in (load_yaml_1_1, load_yaml_1_2):
        assert load(text) == {name: "1" for name in ("ON", "Y", "NO", "NULL", "TRUE")}


def test_yaml_empty_profile_is_an_empty_mapping() -> None:
    """An export with no variables is still a mapping."""
    assert load_yaml_1_1(render("yaml", [], env="e", project="p")) == {}


@settings(max_examples=60, deadline=None)
@given(values=VALUE_LISTS)
def test_yaml_generated_values_round_trip(values: list[str]) -> None:
    """Any text without NUL: both YAML versions load exactly the original strings."""
    items = items_from(values)
    text = render("yaml", items, env="e", project="p")
    assert load_yaml_1_1(text) == expected(items)
    assert load_yaml_1_2(text) == expected(items)


def test_json_tricky_values_round_trip(tmp_path: Path, node_tools: NodeTools) -> None:
    """Python's json and node's JSON.parse read every tricky value back."""
    accepted, refused = split("json", tricky_items())
    assert refused == {}
    path = export("json", accepted, tmp_path / "vars.json")
    assert json.loads(path.read_text(encoding="utf-8")) == expected(accepted)
    assert node_tools.read("json", path) == expected(accepted)


@settings(max_examples=60, deadline=None)
@given(values=VALUE_LISTS)
def test_json_generated_values_round_trip(values: list[str]) -> None:
    """Any text without NUL round-trips through JSON."""
    items = items_from(values)
    assert json.loads(render("json", items, env="e", project="p")) == expected(items)


def test_json_empty_profile() -> None:
    """No variables: an empty object."""
    assert json.loads(render("json", [], env="e", project="p")) == {}


def test_heroku_body_round_trips_and_respects_the_size_limit() -> None:
    """The PATCH body is JSON with the exact values; over 32 KiB in total is refused, naming the variable."""
    accepted, refused = split("heroku", tricky_items())
    assert [label(name) for name in refused] == ["64 KiB"]
    body = render("heroku", accepted, env="e", project="p")
    assert json.loads(body) == expected(accepted)
    items = [ExportItem(f"V{i}", "x" * 1000, False) for i in range(40)]
    with pytest.raises(ExportRefused, match=r"V32 .*32 KiB"):
        render("heroku", items, env="e", project="p")
