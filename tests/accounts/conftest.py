import pytest

from tests.accounts.personas import build_world


@pytest.fixture
def world(db):
    return build_world()
