"""The reliability figures' file, and how its tables of counts add up.

Shared by tests/canary_plugin.py, which records the figures while the suite runs,
and docs/scripts/gen_reliability.py, which sums them per family for
docs/reliability.md. Plain Python with no test dependencies, so the script can
import it on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / ".results.json"


def add_counts(store: dict[str, Any], numbers: dict[str, Any]) -> None:
    """Add ``numbers`` into ``store``: counts are summed (tables of counts too); anything else is a fact: the last value wins."""
    for key, value in numbers.items():
        if isinstance(value, dict):
            add_counts(store.setdefault(key, {}), value)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            store[key] = value
        else:
            store[key] = store.get(key, 0) + value
