"""docker: env files read back by docker's rules and by the real docker CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_consumers import (
    VALUE_LISTS,
    DockerCLI,
    DockerEnvFileError,
    docker_env_file,
    expected,
    export,
    items_from,
    label,
    split,
    tricky_items,
)
from hypothesis import HealthCheck, given, settings

from envman.errors import ExportRefused
from envman.exporters import ExportItem, render

REFUSED = {
    "newline": "newline",
    "crlf": "newline",
    "trailing newline": "newline",
    "only newline": "newline",
    "line injection": "newline",
    "heredoc line": "newline",
    "fly triple line": "newline",
    "pem": "newline",
    "64 KiB": "64 KiB",
}


def test_tricky_values_round_trip(tmp_path: Path) -> None:
    """Values docker can hold come back verbatim (quotes, #, spaces, $ kept); the rest are refused."""
    accepted, refused = split("docker", tricky_items())
    assert {label(n): str(e) for n, e in refused.items()}.keys() == REFUSED.keys()
    for name, exc in refused.items():
        assert REFUSED[label(name)] in str(exc)
    path = export("docker", accepted, tmp_path / "env.list")
    assert docker_env_file(path.read_bytes()) == expected(accepted)


def test_tricky_values_with_real_docker_cli(tmp_path: Path, docker_cli: DockerCLI) -> None:
    """The docker CLI parses the file and sends exactly these values to the engine."""
    accepted, _ = split("docker", tricky_items())
    path = export("docker", accepted, tmp_path / "env.list")
    assert docker_cli.read(path) == expected(accepted)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=VALUE_LISTS)
def test_generated_values(values: list[str], tmp_path: Path, docker_cli: DockerCLI) -> None:
    """Arbitrary text: exact for docker's rules and the real CLI, or refused."""
    accepted, _ = split("docker", items_from(values))
    path = export("docker", accepted, tmp_path / "env.list")
    assert docker_env_file(path.read_bytes()) == expected(accepted)
    assert docker_cli.read(path) == expected(accepted)


def test_long_line_refusal_is_needed(tmp_path: Path, docker_cli: DockerCLI) -> None:
    """A 64 KiB line makes docker reject the whole file, so the encoder refuses it first."""
    path = tmp_path / "long.list"
    path.write_bytes(b"A=" + b"x" * 65534 + b"\n")
    assert "token too long" in docker_cli.error(path)
    with pytest.raises(DockerEnvFileError):
        docker_env_file(path.read_bytes())
    with pytest.raises(ExportRefused, match="64 KiB"):
        render("docker", [ExportItem("A", "x" * 65534, False)], env="e", project="p")
    assert render("docker", [ExportItem("A", "x" * 65533, False)], env="e", project="p")


def test_values_are_never_quoted() -> None:
    """Docker keeps quotes as part of the value, so the encoder adds none."""
    text = render("docker", [ExportItem("A", " 'a' \"b\" ", False)], env="e", project="p")
    assert text == "A= 'a' \"b\" \n"
