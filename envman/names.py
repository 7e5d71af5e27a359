"""Near-miss variable names: the drift between services that hides where a value comes from."""

from __future__ import annotations

from collections.abc import Iterable


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (edits and adjacent swaps), capped at ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _squash(name: str) -> str:
    return name.strip().upper().replace("_", "").replace("-", "")


def is_near_miss(name: str, target: str) -> bool:
    """True when ``name`` is probably a misspelling of ``target`` (but not the same name)."""
    if name == target:
        return False
    a, b = _squash(name), _squash(target)
    if a == b:  # case, whitespace or underscores differ: ALLTKN_BASEURL vs ALLTKN_BASE_URL
        return True
    limit = 1 if len(b) <= 8 else 2
    return _distance(a, b, limit) <= limit


def near_misses(name: str, candidates: Iterable[str]) -> list[str]:
    """Candidates that ``name`` is a near-miss of, closest first."""
    found = [c for c in candidates if is_near_miss(name, c)]
    return sorted(found, key=lambda c: (_distance(_squash(name), _squash(c), 9), c))
