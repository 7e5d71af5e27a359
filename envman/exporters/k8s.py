"""Kubernetes Secret and ConfigMap manifests (YAML, every string double-quoted).

Rules from the Kubernetes API validation (pkg/apis/core/validation): data keys
must match ``[-._a-zA-Z0-9]+``, be at most 253 characters and not be ``.``,
``..`` or start with ``..``; the values of one object may total at most 1 MiB
(``MaxSecretSize``, for Secrets and ConfigMaps alike); object names are DNS-1123
subdomains, namespaces DNS-1123 labels. A Secret carries every variable, base64
in ``data``; a ConfigMap is plain text everyone with read access sees, so it
refuses secret variables. Keys must also be environment variable names, since
``envFrom`` skips any other key. Manifests are generated directly rather than through
``kubectl create --from-env-file``, whose env-file parsing loses data.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator

from envman.errors import ExportRefused
from envman.exporters._common import (
    ExportContext,
    ExportItem,
    check_env_name,
    check_exec_size,
    check_text,
    refuse,
    unique,
    utf8_len,
)
from envman.exporters.yaml import quote

MAX_OBJECT_DATA = 1024 * 1024
_KEY = re.compile(r"[-._a-zA-Z0-9]+\Z")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")


def _key_problem(name: str) -> str | None:
    if len(name) > 253:
        return "a data key may be at most 253 characters"
    if not _KEY.match(name):
        return "a data key may only hold letters, digits, '-', '_' and '.'"
    if name in (".", "..") or name.startswith(".."):
        return "a data key may not be '.' or '..' or start with '..'"
    return None


def _header(kind: str, ctx: ExportContext) -> str:
    name = ctx.options.k8s_name or f"{ctx.project}-{ctx.env}"
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        raise ExportRefused(
            f"cannot export as {ctx.fmt}: {name!r} is not a valid Kubernetes object name",
            "pass an object name of lowercase letters, digits, '-' and '.' (k8s_name)",
        )
    namespace = ctx.options.k8s_namespace
    if namespace is not None and (len(namespace) > 63 or not _LABEL.match(namespace)):
        raise ExportRefused(
            f"cannot export as {ctx.fmt}: {namespace!r} is not a valid Kubernetes namespace",
            "use lowercase letters, digits and '-', at most 63 characters",
        )
    lines = [
        "apiVersion: v1",
        f"kind: {kind}",
        "metadata:",
        f"  name: {quote(name)}",
        *([f"  namespace: {quote(namespace)}"] if namespace is not None else []),
        "  labels:",
        '    "app.kubernetes.io/managed-by": "envman"',
        "  annotations:",
        f'    "envman.dev/project": {quote(ctx.project)}',
        f'    "envman.dev/environment": {quote(ctx.env)}',
        *(["type: Opaque"] if kind == "Secret" else []),
    ]
    return "\n".join(lines) + "\n"


def _data(items: Iterable[ExportItem], ctx: ExportContext, *, secret: bool) -> Iterator[str]:
    total = 0
    empty = True
    for item in unique(ctx, items):
        problem = _key_problem(item.name)
        if problem:
            raise ExportRefused(f"cannot export {item.name!r} as {ctx.fmt}: {problem}", "rename the variable")
        # Pods read these objects through envFrom, which skips keys that are not
        # environment variable names: such a variable would silently go missing.
        check_env_name(ctx, item)
        check_text(ctx, item)
        check_exec_size(ctx, item)
        if not secret and item.secret:
            raise refuse(
                ctx,
                item.name,
                "it is a secret, and a ConfigMap stores values in plain text",
                "export secrets with k8s-secret and reference both objects from the pod",
            )
        total += utf8_len(item.value)
        if total > MAX_OBJECT_DATA:
            raise refuse(
                ctx,
                item.name,
                "with this variable the object's values exceed 1 MiB, the Kubernetes limit per Secret/ConfigMap",
                "split the variables across several objects",
            )
        if empty:
            yield "data:\n"
            empty = False
        shown = base64.b64encode(item.value.encode("utf-8")).decode("ascii") if secret else item.value
        yield f"  {quote(item.name)}: {quote(shown)}\n"
    if empty:
        yield "data: {}\n"


def render_secret(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield a ``v1/Secret`` holding every variable, base64-encoded."""
    yield _header("Secret", ctx)
    yield from _data(items, ctx, secret=True)


def render_configmap(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield a ``v1/ConfigMap``; refuses secret variables."""
    yield _header("ConfigMap", ctx)
    yield from _data(items, ctx, secret=False)
