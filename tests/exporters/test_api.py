"""The exporter API: registry, streaming, names, duplicates, refusal messages."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from envman.errors import EXIT_USAGE, ExportRefused, UsageError
from envman.exporters import FORMATS, ExportItem, render, stream

ALL = sorted(FORMATS)
EXPECTED_FORMATS = {
    "dotenv",
    "shell",
    "json",
    "yaml",
    "docker",
    "k8s-secret",
    "k8s-configmap",
    "github-actions",
    "systemd",
    "fly",
    "vercel",
    "heroku",
}


def test_registry_lists_every_target() -> None:
    """Every target named in the design is registered and its encoder loads."""
    assert set(FORMATS) == EXPECTED_FORMATS
    for spec in FORMATS.values():
        assert callable(spec.encoder())


def test_import_is_cheap() -> None:
    """Importing the package loads no target module and nothing outside the stdlib."""
    code = (
        "import sys; import envman.exporters; "
        "print(sorted(m for m in sys.modules if m.startswith('envman.exporters.') or m in ('yaml', 'click')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['envman.exporters._common']"


def test_unknown_format_is_a_usage_error() -> None:
    """An unknown format names the valid ones."""
    with pytest.raises(UsageError, match="dotenv"):
        stream("toml", [], env="e", project="p")


@pytest.mark.parametrize("fmt", ALL)
def test_render_streams(fmt: str) -> None:
    """Output starts before the input is exhausted, so 10,000 variables need no big buffer."""
    consumed = 0

    def items() -> Iterator[ExportItem]:
        nonlocal consumed
        for i in range(10_000):
            consumed += 1
            yield ExportItem(f"V{i}", "v", False)

    chunks = stream(fmt, items(), env="production", project="demo")
    for chunk in chunks:
        if "V0" in chunk:
            break
    assert consumed < 10


@pytest.mark.parametrize("fmt", [f for f in ALL if f not in ("heroku", "vercel")])
def test_ten_thousand_variables(fmt: str) -> None:
    """A large profile exports completely (heroku and vercel limits are tested in their own files)."""
    items = [ExportItem(f"VAR_{i}", f"value {i}", False) for i in range(10_000)]
    text = render(fmt, items, env="production", project="demo")
    assert "VAR_9999" in text


@pytest.mark.parametrize("fmt", ALL)
@pytest.mark.parametrize("name", ["", "1ABC", "A-B", "A B", "A\n", "A=B", "É"])
def test_invalid_names_are_refused(fmt: str, name: str) -> None:
    """Names are validated per target; a trailing newline is caught (\\Z, not $)."""
    with pytest.raises(ExportRefused):
        render(fmt, [ExportItem(name, "v", False)], env="production", project="demo")


@pytest.mark.parametrize("fmt", ALL)
def test_duplicate_names_are_refused(fmt: str) -> None:
    """A repeated name is refused instead of letting one value win silently."""
    items = [ExportItem("A", "1", False), ExportItem("A", "2", False)]
    with pytest.raises(ExportRefused, match="twice"):
        render(fmt, items, env="production", project="demo")


@pytest.mark.parametrize("fmt", ALL)
def test_nul_is_refused_everywhere(fmt: str) -> None:
    """No target can hold a NUL byte."""
    with pytest.raises(ExportRefused, match="NUL"):
        render(fmt, [ExportItem("A", "x\x00y", False)], env="production", project="demo")


@pytest.mark.parametrize("fmt", ALL)
def test_lone_surrogate_is_refused(fmt: str) -> None:
    """Text that cannot be written as UTF-8 is refused."""
    with pytest.raises(ExportRefused, match="Unicode"):
        render(fmt, [ExportItem("A", "x\ud800", False)], env="production", project="demo")


@pytest.mark.parametrize("fmt", [f for f in ALL if f not in ("json", "yaml")])
def test_exec_size_limit(fmt: str) -> None:
    """Targets that end in a process environment refuse a variable over 128 KiB."""
    with pytest.raises(ExportRefused):
        render(fmt, [ExportItem("BIG", "x" * 131072, False)], env="production", project="demo")


@pytest.mark.parametrize("char", ["x", "é", "€", "😀"])
def test_exec_size_limit_is_counted_in_utf8_bytes(char: str) -> None:
    """NAME=VALUE plus its NUL may take exactly 128 KiB as UTF-8, not one byte more, whatever the characters."""
    from envman.exporters._common import MAX_ARG_STRLEN, ExportContext, ExportOptions, check_exec_size

    ctx = ExportContext(fmt="shell", env="production", project="demo", options=ExportOptions())
    room = MAX_ARG_STRLEN - len("AB=") - 1  # bytes left for the value
    width = len(char.encode())
    fits = char * (room // width) + "x" * (room % width)
    check_exec_size(ctx, ExportItem("AB", fits, False))
    with pytest.raises(ExportRefused, match="128 KiB"):
        check_exec_size(ctx, ExportItem("AB", fits + "x", False))


@pytest.mark.parametrize("fmt", ALL)
def test_refusal_never_contains_the_value(fmt: str) -> None:
    """Refusals name the variable and exit with code 2, but never echo the value."""
    secret = "TOPSECRET-\x00-value"
    with pytest.raises(ExportRefused) as info:
        render(fmt, [ExportItem("DB_PASSWORD", secret, True)], env="production", project="demo")
    assert "DB_PASSWORD" in str(info.value)
    assert "TOPSECRET" not in str(info.value)
    assert info.value.exit_code == EXIT_USAGE
    assert info.value.hint


def test_item_repr_masks_secrets() -> None:
    """A secret item's repr never shows its value."""
    assert "hunter2" not in repr(ExportItem("PASSWORD", "hunter2", True))
    assert "visible" in repr(ExportItem("HOST", "visible", False))
