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


def test_a_patient_living_at_the_staff_member_s_address_is_flagged(staff):
    world = staff
    privacy.set_identity(world.lab_a, world.frontdesk.pk, birth_name="Le Goff",
                         birth_date="1990-05-04", street="12, bd Saint-Michel",
                         postal_code="35000")
    elsewhere = make_patient(world.lab_a, world.dpo, birth_name="Morvan",
                             street="14 boulevard Saint-Michel", postal_code="35000")
    other_town = make_patient(world.lab_a, world.dpo, birth_name="Morvan",
                              first_names=["Yves"], street="12 boulevard Saint-Michel",
                              postal_code="29200")
    _open(world, world.frontdesk, elsewhere)
    _open(world, world.frontdesk, other_town)
    _open(world, world.biologist, make_patient(world.lab_a, world.dpo, birth_name="Riou",
                                               street="12 BOULEVARD ST MICHEL",
                                               postal_code="35000"))
    assert alerts_of(world.lab_a, "privacy-address") == []  # the biologist gave no address
    neighbour = make_patient(world.lab_a, world.dpo, birth_name="Kerleroux",
                             street="12 Boulevard St-Michel", postal_code="35000")
    assert neighbour.address_index == StaffIdentity.objects.get(
        user_id=world.frontdesk.pk).address_index
    _open(world, world.frontdesk, neighbour)
    (alert,) = alerts_of(world.lab_a, "privacy-address")
    assert alert.user_id == world.frontdesk.pk and alert.get_sealed()["patients"] == [neighbour.pk]


def test_an_address_index_collision_alone_is_no_alert(staff, monkeypatch):
    world = staff
    privacy.set_identity(world.lab_a, world.frontdesk.pk, birth_name="Le Goff",
                         birth_date="1990-05-04", street="3 rue de Brest",
                         postal_code="29000")
    patient = make_patient(world.lab_a, world.dpo, birth_name="Morvan",
                           street="5 rue de Quimper", postal_code="29000")
    # Truncated index values are shared by a few addresses: make the reader's collide.
    StaffIdentity.objects.filter(user_id=world.frontdesk.pk).update(
        address_index=patient.address_index)
    _open(world, world.frontdesk, patient)
    assert alerts_of(world.lab_a, "privacy-address") == []


def test_an_address_needs_its_postcode(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        privacy.set_identity(world.lab_a, world.frontdesk.pk, birth_name="Le Goff",
                             birth_date="1990-05-04", street="3 rue de Brest")
    assert "postal_code" in caught.value.message_dict
