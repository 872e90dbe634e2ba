import pytest

from etanche.patients import bulk
from etanche.synthetic import people

OURS = 240
SEED = 181


@pytest.fixture
def lab(world):
    """Lab A with OURS synthetic patients (seed SEED): the leaks are made from them."""
    bulk.bulk_register(world.lab_a, people.envelopes(OURS, seed=SEED))
    return world.lab_a
