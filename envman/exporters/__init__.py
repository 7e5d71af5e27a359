"""Export a profile's variables in the exact form each deployment target reads.

Every encoder writes what its platform reads back byte for byte, or raises
``ExportRefused`` naming the variable and the reason: never a silent change.

``render`` returns the whole text or raises, never a part. ``stream`` yields the
same text in chunks as it is consumed, so 10,000 variables export in constant
memory; a refusal can then surface after earlier chunks were produced, so a
caller streaming into a file writes a temporary file and renames it only once
the iterator is exhausted.
Target modules are imported on first use; this module imports only the stdlib.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator

from envman.errors import UsageError
from envman.exporters._common import ExportContext, ExportItem, ExportOptions
from envman.records import Record

__all__ = ["FORMATS", "ExportItem", "ExportOptions", "Format", "render", "stream"]

Encoder = Callable[[Iterable[ExportItem], ExportContext], Iterator[str]]


class Format(Record):
    """A registered export target: where its encoder lives and what it is for."""

    name: str
    module: str
    function: str
    summary: str

    def encoder(self) -> Encoder:
        """Import the target module and return its encoder."""
        module = importlib.import_module(f"envman.exporters.{self.module}")
        encoder: Encoder = getattr(module, self.function)
        return encoder


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("dotenv", "dotenv", "render", ".env read identically by python-dotenv, npm dotenv, dotenvx, node --env-file"),
        Format("shell", "shell", "render", "POSIX sh: export NAME='...' lines to source with `.`"),
        Format("json", "json", "render", "one JSON object {NAME: value}"),
        Format("yaml", "yaml", "render", "one YAML mapping, every key and value double-quoted"),
        Format("docker", "docker", "render", "docker run --env-file (verbatim NAME=VALUE lines)"),
        Format("k8s-secret", "k8s", "render_secret", "Kubernetes Secret manifest, values base64 in data"),
        Format("k8s-configmap", "k8s", "render_configmap", "Kubernetes ConfigMap manifest (non-secret variables only)"),
        Format("github-actions", "github_actions", "render", "$GITHUB_ENV heredocs, or ::add-mask:: lines for secrets"),
        Format("systemd", "systemd", "render", "systemd EnvironmentFile= (double-quoted values)"),
        Format("fly", "fly", "render", "stdin for `fly secrets import`"),
        Format("vercel", "vercel", "render", "sh script feeding each value to `vercel env add` on stdin"),
        Format("heroku", "heroku", "render", "JSON body for Heroku's PATCH /apps/{app}/config-vars"),
    )
}


def stream(
    fmt: str,
    items: Iterable[ExportItem],
    *,
    env: str,
    project: str,
    options: ExportOptions | None = None,
) -> Iterator[str]:
    """Yield ``items`` encoded for ``fmt`` in chunks; raises ExportRefused while iterating."""
    spec = FORMATS.get(fmt)
    if spec is None:
        raise UsageError(f"unknown export format {fmt!r}", "choose one of: " + ", ".join(FORMATS))
    ctx = ExportContext(fmt=fmt, env=env, project=project, options=options or ExportOptions())
    return spec.encoder()(items, ctx)


def render(
    fmt: str,
    items: Iterable[ExportItem],
    *,
    env: str,
    project: str,
    options: ExportOptions | None = None,
) -> str:
    """Encode everything at once: either the whole export or ExportRefused, never a part."""
    return "".join(stream(fmt, items, env=env, project=project, options=options))
