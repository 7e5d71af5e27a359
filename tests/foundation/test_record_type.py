"""envman.records: named-field tuples whose classes are cheap to build."""

from __future__ import annotations

import pickle
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envman.records import Record


class Point(Record):
    """A record with required and defaulted fields, a ClassVar and a method."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    KIND: ClassVar[str] = "point"

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


def test_fields_come_from_the_annotations_in_order() -> None:
    """ClassVar annotations are not fields; defaults are recorded per field."""
    assert Point._fields == ("x", "y", "tags")
    assert Point._defaults == {"y": 0, "tags": ()}
    assert Point.KIND == "point"


def test_positional_keyword_and_default_construction_agree() -> None:
    """Positional, keyword and mixed construction give equal records; a method sees the fields."""
    assert Point(1, 2, ("a",)) == Point(x=1, y=2, tags=("a",)) == Point(1, tags=("a",), y=2)
    assert Point(3) == Point(3, 0, ()) and Point(3, -4).norm1() == 7
    assert Point(1, 2)._asdict() == {"x": 1, "y": 2, "tags": ()}


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Point(), "needs x"),
    (lambda: Point(y=1), "needs x"),
    (lambda: Point(1, x=2), "got x twice"),
    (lambda: Point(1, z=2), "no field 'z'"),
    (lambda: Point(1, 2, (), 4), "takes 3 fields, 4 given"),
])
def test_wrong_construction_is_a_type_error(make, message: str) -> None:  # type: ignore[no-untyped-def]
    """Missing, doubled, unknown or surplus fields are refused with a TypeError naming the field."""
    with pytest.raises(TypeError, match=message):
        make()


def test_records_are_immutable_and_replace_makes_a_copy() -> None:
    """Fields cannot be set or deleted; _replace returns a new record and refuses unknown fields."""
    p = Point(1, 2)
    with pytest.raises(AttributeError):
        p.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.extra = 1  # type: ignore[attr-defined]
    q = p._replace(y=7)
    assert (p.y, q.y, q.x) == (2, 7, 1) and type(q) is Point
    with pytest.raises(TypeError, match="no field 'z'"):
        p._replace(z=1)


def test_repr_hash_pickle() -> None:
    """repr names the fields; equal records hash alike; a record survives pickling."""
    p = Point(1, 2, ("a",))
    assert repr(p) == "Point(x=1, y=2, tags=('a',))"
    assert hash(p) == hash(Point(1, 2, ("a",))) and {p, Point(1, 2, ("a",))} == {p}
    assert pickle.loads(pickle.dumps(p)) == p


def test_make_takes_values_in_field_order() -> None:
    """_make builds from an iterable (for readers that already checked the values)."""
    assert Point._make([4, 5, ()]) == Point(4, 5)


@given(st.integers(), st.integers(), st.lists(st.text(max_size=3), max_size=3).map(tuple))
def test_a_record_is_the_tuple_of_its_fields(x: int, y: int, tags: tuple[str, ...]) -> None:
    """As with a namedtuple: iteration, indexing and equality are those of the tuple of the fields."""
    p = Point(x, y, tags)
    assert tuple(p) == (x, y, tags) and p[0] == x and p == (x, y, tags)
    assert Point(*p) == p and Point(**p._asdict()) == p
