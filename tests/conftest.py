import os

import pytest

from tests.orders.helpers import make_order, make_patient
from tests.personas import build_world

UNDER_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith(("postgres:", "postgresql:"))
# What does not depend on the database runs once, on the SQLite pass of CI.
ONCE_MARKERS = ("once", "browser", "hsm")


def pytest_collection_modifyitems(config, items):
    if not ON_POSTGRESQL:
        return
    once = pytest.mark.skip(reason="does not depend on the database: run on the SQLite pass")
    for item in items:
        if any(item.get_closest_marker(name) for name in ONCE_MARKERS):
            item.add_marker(once)


def require_system(condition: bool, reason: str) -> None:
    """Skip a test that needs a system package, except under CI, where it fails.

    CI must never pass by skipping what it was meant to prove.
    """
    if condition:
        return
    if UNDER_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def world(db):
    """Two labs with one person per role each, and an outsider (tests/personas.py)."""
    return build_world()


@pytest.fixture
def front_office(world):
    """The world with one patient of lab A and one request for her."""
    world.patient = make_patient(world.lab_a, world.frontdesk)
    world.order = make_order(world.lab_a, world.frontdesk, world.patient)
    return world
