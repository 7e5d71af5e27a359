"""dotenv: every value read back identically by python-dotenv, npm dotenv, dotenvx and node --env-file."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_consumers import (
    VALUE_LISTS,
    NodeTools,
    expected,
    export,
    items_from,
    label,
    ours,
    python_dotenv,
    split,
    tricky_items,
)
from hypothesis import HealthCheck, given, settings

from envman.errors import ExportRefused
from envman.exporters import ExportItem, render

# Values no quoting can carry to all four readers, and why (asserted below so a
# regression that starts refusing more, or less, shows up).
REFUSED = {
    "dollar brace": "python-dotenv expands",
    "dollar default": "python-dotenv expands",
    "crlf": "carriage return",
    "lone cr": "carriage return",
    "encrypted prefix": "dotenvx",
}


def read_all(path: Path, node: NodeTools) -> dict[str, dict[str, str]]:
    return {
        "python-dotenv interpolate=False": ours(python_dotenv(path, interpolate=False)),
        "python-dotenv interpolate=True": ours(python_dotenv(path, interpolate=True)),
        **{reader: ours(seen) for reader, seen in node.read_dotenv_all(path).items()},
    }


def assert_round_trip(items: list[ExportItem], path: Path, node: NodeTools) -> None:
    export("dotenv", items, path)
    for reader, seen in read_all(path, node).items():
        assert seen == expected(items), f"{reader} read the export differently"


def test_tricky_values_round_trip_in_every_reader(tmp_path: Path, node_tools: NodeTools) -> None:
    """Each tricky value is either read back byte for byte by all five readers or refused for a stated reason."""
    accepted, refused = split("dotenv", tricky_items())
    assert {label(n): str(e) for n, e in refused.items()}.keys() == REFUSED.keys()
    for name, exc in refused.items():
        assert REFUSED[label(name)] in str(exc)
    assert_round_trip(accepted, tmp_path / "tricky.env", node_tools)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=VALUE_LISTS)
def test_generated_values_round_trip_or_are_refused(values: list[str], tmp_path: Path, node_tools: NodeTools) -> None:
    """Arbitrary text (controls, quotes, $, backslashes, unicode): exact in all readers unless refused."""
    accepted, _ = split("dotenv", items_from(values))
    assert_round_trip(accepted, tmp_path / "generated.env", node_tools)


def test_refusals_are_needed(tmp_path: Path, node_tools: NodeTools) -> None:
    """The refused constructs really are read differently: a CR by node, ${...} by python-dotenv's default."""
    path = tmp_path / "naive.env"
    path.write_bytes(b"EXP_A='x\r\ny'\nEXP_B='${EXP_A}'\n")
    assert node_tools.read("env-file", path)["EXP_A"] == "x\ny"
    assert python_dotenv(path, interpolate=True)["EXP_B"] == "x\ny"
    assert python_dotenv(path, interpolate=False)["EXP_B"] == "${EXP_A}"


def test_command_substitution_never_runs(tmp_path: Path, node_tools: NodeTools) -> None:
    """dotenvx would run $(...) outside single quotes; the export keeps it literal text."""
    marker = tmp_path / "ran"
    item = ExportItem("EXP_CMD", f"$(touch {marker})", True)
    path = tmp_path / "cmd.env"
    export("dotenv", [item], path)
    assert node_tools.read("dotenvx", path) == {"EXP_CMD": item.value}
    assert not marker.exists()


@pytest.mark.parametrize("value", ["plain", "https://x.example/a?b=c", "", "a=b"])
def test_plain_values_stay_unquoted(value: str) -> None:
    """Simple values are written bare, as a person would write them."""
    assert render("dotenv", [ExportItem("A", value, False)], env="e", project="p") == f"A={value}\n"


def test_refusal_names_variable_not_value() -> None:
    """The refusal says which variable and why, without the (secret) value."""
    with pytest.raises(ExportRefused) as info:
        render("dotenv", [ExportItem("DB_PASSWORD", "s3cr3t\r\nvalue", True)], env="e", project="p")
    assert "DB_PASSWORD" in str(info.value)
    assert "s3cr3t" not in str(info.value)
