import pytest

from tests.exports.helpers import age_key, full_patients


@pytest.fixture
def with_patients(world):
    """The shared world with three fully filled patients of lab A, each with a request."""
    world.patients = full_patients(world.lab_a, world.frontdesk)
    return world


@pytest.fixture
def key():
    return age_key()
