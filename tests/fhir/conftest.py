import pytest

from tests.fhir.helpers import api, token_for


@pytest.fixture
def bio(world):
    """A client holding a biologist's token of lab A with every scope, clinical included."""
    return api(token_for(world.biologist, world.lab_a, "user/*.* etanche/clinical.read"))
