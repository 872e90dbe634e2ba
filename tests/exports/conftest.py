import pytest

from tests.accounts.personas import build_world
from tests.exports.helpers import age_key, full_patients


@pytest.fixture
def world(db):
    w = build_world()
    w.patients = full_patients(w.lab_a, w.frontdesk)
    return w


@pytest.fixture
def key():
    return age_key()
