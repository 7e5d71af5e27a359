"""Heroku: the JSON body of the Platform API's ``PATCH /apps/{app}/config-vars``.

``heroku config:set`` only takes values on its command line, where other users
of the machine can read them, so this target produces the request body instead;
send it from stdin::

    envman export heroku | curl -n -X PATCH "https://api.heroku.com/apps/$APP/config-vars" \\
        -H "Accept: application/vnd.heroku+json; version=3" \\
        -H "Content-Type: application/json" --data-binary @-

JSON carries any text exactly. Refused beyond the shared checks: an app's config
vars (all names and values together) over 32 KiB, Heroku's documented limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from envman.exporters._common import ExportContext, ExportItem, env_items, within_total
from envman.exporters.json import json_object

MAX_CONFIG_BYTES = 32 * 1024


def _checked(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[tuple[str, str]]:
    for item in within_total(
        ctx,
        env_items(ctx, items),
        MAX_CONFIG_BYTES,
        "with this variable the app's config vars exceed 32 KiB, Heroku's limit",
        "move large values to an add-on or a file",
    ):
        yield item.name, item.value


def render(items: Iterable[ExportItem], ctx: ExportContext) -> Iterator[str]:
    """Yield the JSON request body."""
    return json_object(_checked(items, ctx))
