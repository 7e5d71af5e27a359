"""Near-miss names among many: the index finds exactly what comparing every pair finds, without comparing every pair."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import envman.checks
from envman.checks import near_miss_findings, run_checks
from envman.names import NearMissIndex, is_near_miss, near_misses
from envman.ops import Project
from envman.schema import VarSpec

# few letters, so that near-misses (one or two edits, swaps, case and '_' differences) are common
_NAMES = st.from_regex(r"\A[ABab_][AB_1 ]{0,7}\Z")


def _without_digits(name: str) -> str:
    return re.sub(r"\d", "", name)


@settings(deadline=None, max_examples=300)
@given(names=st.lists(_NAMES, max_size=12, unique=True), probe=_NAMES)
def test_the_index_finds_what_every_pair_finds(names: list[str], probe: str) -> None:
    index = NearMissIndex(names)
    assert index.near_misses(probe) == near_misses(probe, names)
    unique = sorted(set(names))
    every = {(a, b) for i, a in enumerate(unique) for b in unique[i + 1:]
             if is_near_miss(a, b) and _without_digits(a) != _without_digits(b)}
    found = {(a, b) for a, b in index.pairs(_without_digits) if is_near_miss(a, b)}
    assert found == every


@settings(deadline=None, max_examples=100)
@given(names=st.lists(_NAMES, max_size=10), schema=st.lists(st.from_regex(r"\A[AB][AB_1]{0,7}\Z"), min_size=1, max_size=10))
def test_findings_do_not_depend_on_the_index(names: list[str], schema: list[str]) -> None:
    with mock.patch.object(envman.checks, "_INDEX_FROM", 10**9):
        plain = near_miss_findings(names, schema)
    with mock.patch.object(envman.checks, "_INDEX_FROM", 0):
        indexed = near_miss_findings(names, schema)
    assert indexed == plain


def test_check_of_a_large_schema_does_not_compare_every_pair(seeded: Any) -> None:
    """2,000 schema names: 2,000,000 pairs took ~30 s; only the index's few candidates are compared, drift is still found."""
    from envman.manifest import edit_manifest, spec_to_table

    specs = [VarSpec(f"SVC_{i:04}_URL", "url") for i in range(2000)] + [VarSpec("ALLTKN_BASEURL", "url")]

    def add(doc: Any) -> None:
        for spec in specs:
            doc["variables"][spec.name] = spec_to_table(spec)

    edit_manifest(seeded.root, add)
    project = Project.open(seeded.root)
    compared = []

    def counted(a: str, b: str) -> bool:
        compared.append((a, b))
        return is_near_miss(a, b)

    with mock.patch.object(envman.checks, "is_near_miss", counted):
        found = [f for f in run_checks(project, ["test"]) if f.rule == "E006"]
    assert 0 < len(compared) < 1000
    assert [(f.var, f.severity) for f in found] == [("ALLTKN_BASEURL", "warning")]
    assert "misspelling of ALLTKN_BASE_URL" in found[0].message
