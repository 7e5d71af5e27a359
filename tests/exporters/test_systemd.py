"""systemd: EnvironmentFile= read back by systemd's own parser (libsystemd-shared load_env_file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_consumers import VALUE_LISTS, SystemdEnvFile, expected, export, items_from, split, tricky_items
from hypothesis import HealthCheck, given, settings

from envman.errors import ExportRefused
from envman.exporters import ExportItem, render


def test_tricky_values_round_trip(tmp_path: Path, systemd_env_file: SystemdEnvFile) -> None:
    """Every tricky value, multi-line, CR, quotes, backslashes and 64 KiB included, is exact."""
    accepted, refused = split("systemd", tricky_items())
    assert refused == {}
    path = export("systemd", accepted, tmp_path / "app.env")
    assert systemd_env_file.read(path) == expected(accepted)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=VALUE_LISTS)
def test_generated_values_round_trip(values: list[str], tmp_path: Path, systemd_env_file: SystemdEnvFile) -> None:
    """Any text without NUL survives systemd's parser and its validity check."""
    items = items_from(values)
    path = export("systemd", items, tmp_path / "app.env")
    assert systemd_env_file.read(path) == expected(items)


def test_exec_size_limit() -> None:
    """A variable over 128 KiB could never reach the service's environment (MAX_ARG_STRLEN)."""
    with pytest.raises(ExportRefused, match="128 KiB"):
        render("systemd", [ExportItem("BIG", "x" * (128 * 1024), False)], env="e", project="p")
    assert render("systemd", [ExportItem("BIG", "x" * (128 * 1024 - 6), False)], env="e", project="p")
