"""The architecture holds: dependencies point one way, cli → use cases → storage/engines → core.

Every import is counted, including the lazy ones inside functions: laziness is
about start-up cost, not about which way a dependency may point.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import source_imports

PACKAGE = Path(__file__).resolve().parents[2] / "envman"

# A module may import modules of its own layer or lower ones, never higher.
LAYERS: dict[str, int] = {
    "envman.errors": 0, "envman.records": 0, "envman.blocks": 0, "envman.filerun": 0,
    "envman.schema": 1, "envman.names": 1, "envman.crypto": 1, "envman.profile": 1, "envman.fsutil": 1,
    "envman.ledger": 1, "envman.keys": 1, "envman.manifest": 1,
    "envman.store": 2, "envman.exporters": 2, "envman.probe": 2, "envman.scan": 2, "envman.diff": 2,
    "envman.ops": 3, "envman.checks": 3, "envman.export": 3, "envman.known": 3, "envman.settings": 3,
    "envman.verify": 3, "envman.lifecycle": 3, "envman.rekey": 3, "envman.credentials": 3, "envman.backend": 3, "envman.redact": 3,
    "envman.cli": 4, "envman.__main__": 4,
}
HEAVY_OUTSIDE_FUNCTIONS = {"dynaconf", "keyring", "hvac", "httpx", "rich", "yaml", "tomlkit", "cryptography", "dotenv", "tomli_w"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return None if best is None else best[1]


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_no_import_against_the_direction(path: Path) -> None:
    """A module never imports one of a higher layer (e.g. the store never imports ops or the CLI)."""
    name = _module_name(path)
    if name == "envman":
        return  # the public facade re-exports load() and redact_filter() lazily
    own = _layer(name)
    assert own is not None, f"{name} has no layer in tests/architecture/test_layers.py"
    bad = [m for m, _ in source_imports(path) if m.startswith("envman.") and (layer := _layer(m)) is not None and layer > own]
    assert not bad, f"{name} (layer {own}) imports higher layers: {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_click_only_in_cli_and_heavy_imports_only_in_functions(path: Path) -> None:
    """click is imported only by envman.cli; heavy libraries never at module top level."""
    name = _module_name(path)
    imports = source_imports(path)
    if not name.startswith("envman.cli"):
        assert not [m for m, _ in imports if m.split(".")[0] == "click"], f"{name} imports click"
    heavy = [m for m, top in imports if top and m.split(".")[0] in HEAVY_OUTSIDE_FUNCTIONS]
    assert not heavy, f"{name} imports {heavy} at module level"
