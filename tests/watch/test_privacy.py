"""Privacy rules: a staff member opening a namesake's, a phone-sharer's or a co-worker's
record, compared through blind indexes, confirmed on the two records concerned only."""

import pytest

from etanche.patients import services as patients
from etanche.watch import privacy
from etanche.watch.models import StaffIdentity
from tests.orders.helpers import make_patient
from tests.watch.helpers import alerts_of, drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(world):
    privacy.set_identity(world.lab_a, world.frontdesk.pk, birth_name="Le Goff",
                         birth_date="1990-05-04", phone="+33639981234")
    privacy.set_identity(world.lab_a, world.biologist.pk, birth_name="Tanguy",
                         birth_date="1979-11-20")
    return world


def _open(world, user, patient):
    patients.get_patient(world.lab_a, user, patient.pk)
    drain()


def test_a_namesake_is_flagged_a_stranger_is_not(staff):
    world = staff
    _open(world, world.frontdesk, make_patient(world.lab_a, world.dpo, birth_name="Kerbrat"))
    assert alerts_of(world.lab_a, "privacy-namesake") == []
    cousin = make_patient(world.lab_a, world.dpo, birth_name="LE GOFF", birth_date="1960-01-01")
    _open(world, world.frontdesk, cousin)
    (alert,) = alerts_of(world.lab_a, "privacy-namesake")
    assert alert.user_id == world.frontdesk.pk and alert.get_sealed()["patients"] == [cousin.pk]


def test_the_same_phone_is_flagged(staff):
    world = staff
    neighbour = make_patient(world.lab_a, world.dpo, birth_name="Morvan",
                             phones=["+33639981234"])
    _open(world, world.frontdesk, neighbour)
    assert len(alerts_of(world.lab_a, "privacy-phone")) == 1


def test_a_co_worker_s_record_is_flagged(staff):
    world = staff
    colleague = make_patient(world.lab_a, world.dpo, birth_name="Tanguy",
                             birth_date="1979-11-20", first_names=["Yann"], sex="M")
    _open(world, world.frontdesk, colleague)
    (alert,) = alerts_of(world.lab_a, "privacy-coworker")
    assert alert.subject == f"staff:{world.biologist.pk}"


def test_staff_identities_are_sealed(staff):
    row = StaffIdentity.objects.get(user_id=staff.frontdesk.pk)
    assert b"Goff" not in bytes(row.sealed) and row.surname_index is not None
