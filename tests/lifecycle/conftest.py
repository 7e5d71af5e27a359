"""Fixtures for the lifecycle tests: a seeded project made ready to go live."""

from __future__ import annotations

import pytest

PROD_KEY_2 = "sk-prod-eeeeeeeeeeeeeeee5555"


def make_live(project) -> None:  # type: ignore[no-untyped-def]
    """Give production's key an owner, a rotation method and a rollback value, so the go-live gate (E008) passes."""
    from envman.lifecycle import rotate, set_owner

    p = project.open()
    set_owner(p, "production", "ALLTKN_API_KEY", owner="alice", rotation_method="provider console", rotation_days=90)
    rotate(p, "production", "ALLTKN_API_KEY", PROD_KEY_2)


@pytest.fixture
def live(seeded):  # type: ignore[no-untyped-def]
    """The seeded project (test, staging, production imported) with production ready to receive promotions."""
    make_live(seeded)
    return seeded


@pytest.fixture
def project_api(live):  # type: ignore[no-untyped-def]
    """An opened ``Project`` of the ``live`` fixture."""
    return live.open()


@pytest.fixture
def prod_key() -> str:
    """The production key the ``live`` fixture rotated in."""
    return PROD_KEY_2
