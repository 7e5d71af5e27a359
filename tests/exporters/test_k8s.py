"""k8s-secret and k8s-configmap: manifests that validate and give pods the exact values."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml as pyyaml
from export_consumers import (
    VALUE_LISTS,
    expected,
    export,
    items_from,
    k8s_data,
    kubectl_read,
    kubernetes_validate,
    split,
    tricky_items,
)
from hypothesis import HealthCheck, given, settings
from ruamel.yaml import YAML

from envman.errors import ExportRefused
from envman.exporters import ExportItem, ExportOptions, render


def readers(path: Path) -> dict[str, dict[str, object]]:
    text = path.read_text(encoding="utf-8")
    return {
        "PyYAML (YAML 1.1)": pyyaml.safe_load(text),
        "ruamel.yaml (YAML 1.2)": YAML(typ="safe", pure=True).load(io.StringIO(text)),
        "kubectl": kubectl_read(path),
    }


@pytest.mark.parametrize("fmt", ["k8s-secret", "k8s-configmap"])
def test_tricky_values_round_trip(fmt: str, tmp_path: Path) -> None:
    """The manifest passes kubernetes-validate and kubectl, YAML 1.1 and 1.2 loaders see the exact values."""
    accepted, refused = split(fmt, tricky_items(secret=False))
    assert refused == {}
    path = export(fmt, accepted, tmp_path / "manifest.yaml")
    kubernetes_validate(path)
    for reader, manifest in readers(path).items():
        assert k8s_data(manifest) == expected(accepted), reader


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=VALUE_LISTS)
def test_generated_values_round_trip(values: list[str], tmp_path: Path) -> None:
    """Arbitrary text in a Secret and a ConfigMap: valid manifests, exact values for every reader."""
    for fmt in ("k8s-secret", "k8s-configmap"):
        items = items_from(values)
        path = export(fmt, items, tmp_path / f"{fmt}.yaml")
        kubernetes_validate(path)
        for reader, manifest in readers(path).items():
            assert k8s_data(manifest) == expected(items), (fmt, reader)


def test_secret_metadata(tmp_path: Path) -> None:
    """Name defaults to <project>-<env>, namespace and name can be set, the type is Opaque."""
    options = ExportOptions(k8s_name="api-config", k8s_namespace="prod")
    path = export("k8s-secret", [ExportItem("A", "1", True)], tmp_path / "s.yaml", options)
    manifest = pyyaml.safe_load(path.read_text())
    assert manifest["metadata"]["name"] == "api-config"
    assert manifest["metadata"]["namespace"] == "prod"
    assert manifest["type"] == "Opaque"
    kubernetes_validate(path)
    default = pyyaml.safe_load(render("k8s-secret", [], env="production", project="demo"))
    assert default["metadata"]["name"] == "demo-production"
    assert default["data"] == {}


def test_invalid_object_name_is_refused() -> None:
    """A project/env that makes no valid object name is refused with a hint to pass one."""
    with pytest.raises(ExportRefused, match="object name"):
        render("k8s-secret", [], env="Prod", project="My App")


def test_configmap_refuses_secrets() -> None:
    """A secret variable does not belong in a plain-text ConfigMap."""
    with pytest.raises(ExportRefused, match=r"API_KEY.*secret"):
        render("k8s-configmap", [ExportItem("API_KEY", "x", True)], env="e", project="p")


@pytest.mark.parametrize("fmt", ["k8s-secret", "k8s-configmap"])
def test_object_size_limit(fmt: str, tmp_path: Path) -> None:
    """Values may total 1 MiB per object: exactly 1 MiB validates, one byte more is refused at that variable."""
    chunk = 100 * 1024
    items = [ExportItem(f"V{i}", "x" * chunk, False) for i in range(10)]
    items.append(ExportItem("LAST", "x" * (1024 * 1024 - 10 * chunk), False))
    path = export(fmt, items, tmp_path / "full.yaml")
    kubernetes_validate(path)
    with pytest.raises(ExportRefused, match=r"LAST .*1 MiB"):
        render(fmt, [*items[:-1], ExportItem("LAST", "x" * (1024 * 1024 - 10 * chunk + 1), False)], env="e", project="p")


@pytest.mark.parametrize("name", ["has space", "a/b", "..x", "x" * 254])
def test_invalid_keys_are_refused(name: str) -> None:
    """Data keys follow Kubernetes' key rules."""
    with pytest.raises(ExportRefused):
        render("k8s-secret", [ExportItem(name, "v", True)], env="e", project="p")
