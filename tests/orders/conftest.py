import pytest
from django.test import Client

from etanche.accounts.models import Role
from tests.accounts.personas import build_world, make_user, sign_in
from tests.orders.helpers import make_order, make_patient


@pytest.fixture
def world(db):
    w = build_world()
    w.other_frontdesk = make_user("luc.girard", w.lab_b, Role.FRONTDESK)
    w.patient = make_patient(w.lab_a, w.frontdesk)
    w.order = make_order(w.lab_a, w.frontdesk, w.patient)
    return w


@pytest.fixture
def as_user():
    def _client(user):
        return sign_in(Client(), user)
    return _client
