"""Near-miss variable names: the drift between services that hides where a value comes from."""

from __future__ import annotations

from collections.abc import Callable, Iterable


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


def _deletions(word: str, most: int) -> set[str]:
    """``word`` with up to ``most`` characters deleted, in every way."""
    forms, frontier = {word}, {word}
    for _ in range(most):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        forms |= frontier
    return forms


class NearMissIndex:
    """Near-miss candidates among many names without comparing every pair.

    Two words within two edits (substitutions, insertions, deletions, adjacent swaps) become
    the same word once at most two characters are deleted from each, so names are filed
    under every such form of their squashed spelling: the candidates for a name are those
    filed under one of its forms, a superset that ``is_near_miss`` then decides exactly. Forms
    are filed by their hash (a collision only adds a candidate): 10,000 names have ~1,000,000.
    Comparing every pair made `envman check` take ~30 s for a 1,000-name schema.
    """

    _MOST = 2  # is_near_miss allows at most two edits

    def __init__(self, names: Iterable[str]) -> None:
        # one name as itself, several in a list: most forms belong to one name, and a list each would double the memory
        self._filed: dict[int, str | list[str]] = {}
        filed = self._filed
        for name in dict.fromkeys(names):
            for key in {hash(form) for form in _deletions(_squash(name), self._MOST)}:
                there = filed.setdefault(key, name)
                if there is not name:
                    if isinstance(there, str):
                        filed[key] = [there, name]
                    else:
                        there.append(name)

    def _group(self, key: int) -> list[str]:
        found = self._filed.get(key)
        return [] if found is None else [found] if isinstance(found, str) else found

    def candidates(self, name: str) -> set[str]:
        """Names that may be near-misses of ``name`` (and maybe ``name`` itself)."""
        return {c for form in _deletions(_squash(name), self._MOST) for c in self._group(hash(form))}

    def near_misses(self, name: str) -> list[str]:
        """``near_misses(name, names)``, from the candidates only."""
        return near_misses(name, self.candidates(name))

    def pairs(self, kind: Callable[[str], str]) -> set[tuple[str, str]]:
        """Candidate pairs (a, b) with a < b, leaving out pairs of the same ``kind`` (e.g. numbered siblings)."""
        out: set[tuple[str, str]] = set()
        kind_of: dict[str, str] = {}
        for group in self._filed.values():
            if isinstance(group, str):
                continue
            kinds = [kind_of[n] if n in kind_of else kind_of.setdefault(n, kind(n)) for n in group]
            if len(set(kinds)) < 2:
                continue
            for i, a in enumerate(group):
                for j in range(i + 1, len(group)):
                    if kinds[i] != kinds[j]:
                        b = group[j]
                        out.add((a, b) if a < b else (b, a))
        return out
