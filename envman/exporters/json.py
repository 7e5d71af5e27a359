"""JSON: one object ``{"NAME": "value", ...}``, UTF-8, one variable per line.

JSON strings hold any Unicode text, so only the shared checks apply (valid
names, no NUL, no lone surrogates, no repeated name).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from envman.exporters._common import ExportContext, ExportItem, check_env_name, check_text, unique


def json_object(pairs: Iterable[tuple[str, str]]) -> Iterator[str]:
    """Stream a JSON object from (key, value) pairs without building it in memory."""
    first = True
    for key, value in pairs:
        yield ("{\n  " if first else ",\n  ") + json.dumps(key, ensure_ascii=False) + ": "
        yield json.dumps(value, ensure_ascii=False)
        first = False
    yield "{}\n" if first else "\n}\n"


def _checked(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[tuple[str, str]]:
    for item in unique(ctx, items):
        check_env_name(ctx, item)
        check_text(ctx, item)
        yield item.name, item.value


def render(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield the JSON object in chunks."""
    return json_object(_checked(items, ctx))
