import os

import pytest

from tests.orders.helpers import make_order, make_patient
from tests.personas import build_world

UNDER_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


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
