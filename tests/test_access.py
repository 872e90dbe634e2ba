"""etanche.web.access: 404 for another lab, a missing or a bad id; 403 for too little authority."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from etanche.accounts.permissions import Perm
from etanche.journal.models import Action, Entry
from etanche.patients import services as patients
from etanche.web import access
from tests.orders.helpers import make_patient

pytestmark = pytest.mark.usefixtures("front_office")


def _request(user, lab):
    request = RequestFactory().get("/")
    request.user = user
    request.membership = user.memberships.get(lab=lab) if lab else None
    return request


def _reads(lab):
    return Entry.objects.filter(lab_id=lab.pk, action=Action.READ).order_by("seq")


@pytest.mark.parametrize("fetch", [access.get_patient_for_user,
                                   access.resolve_patient_for_user,
                                   access.check_patient_for_user])
def test_a_patient_is_404_elsewhere_or_missing_and_403_without_authority(world, fetch):
    pk = world.patient.pk
    for request, bad in ((_request(world.outsider_admin, world.lab_b), pk),
                         (_request(world.frontdesk, world.lab_a), 12345),
                         (_request(world.frontdesk, world.lab_a), "x"),
                         (_request(world.frontdesk, None), pk),
                         # without the permission, a missing id stays a 404
                         (_request(world.labadmin, world.lab_a), 12345)):
        with pytest.raises(Http404):
            fetch(request, bad, Perm.PATIENT_READ)
    with pytest.raises(PermissionDenied):
        fetch(_request(world.labadmin, world.lab_a), pk, Perm.PATIENT_READ)


def test_the_record_fetch_journals_one_read_and_the_others_none(world):
    request = _request(world.frontdesk, world.lab_a)
    before = _reads(world.lab_a).count()
    patient, redirected = access.resolve_patient_for_user(request, world.patient.pk,
                                                          Perm.ORDER_WRITE)
    assert (patient.pk, redirected) == (world.patient.pk, None)
    assert access.check_patient_for_user(request, str(world.patient.pk),
                                         Perm.PATIENT_READ) == world.patient.pk
    assert _reads(world.lab_a).count() == before
    record = access.get_patient_for_user(request, world.patient.pk, Perm.PATIENT_READ,
                                         purpose="accueil")
    assert record.id == world.patient.pk
    assert _reads(world.lab_a).count() == before + 1
    assert _reads(world.lab_a).last().actor == world.frontdesk.username


def test_a_merged_record_resolves_to_its_survivor(world):
    other = make_patient(world.lab_a, world.frontdesk, birth_name="Le Gall")
    patients.merge_patients(world.lab_a, world.biologist, world.patient.pk, other.pk)
    request = _request(world.frontdesk, world.lab_a)
    patient, redirected = access.resolve_patient_for_user(request, other.pk, Perm.ORDER_WRITE)
    assert (patient.pk, redirected) == (world.patient.pk, other.pk)
    # The access history names the record asked for, merged or not.
    assert access.check_patient_for_user(request, other.pk, Perm.PATIENT_READ) == other.pk


def test_an_order_is_404_elsewhere_or_missing_and_403_without_authority(world):
    pk = world.order.pk
    for request, bad in ((_request(world.outsider_admin, world.lab_b), pk),
                         (_request(world.frontdesk, world.lab_a), 999999),
                         (_request(world.frontdesk, world.lab_a), "x"),
                         (_request(world.frontdesk, None), pk)):
        with pytest.raises(Http404):
            access.get_order_for_user(request, bad, Perm.ORDER_READ)
    with pytest.raises(PermissionDenied):
        access.get_order_for_user(_request(world.auditor, world.lab_a), pk, Perm.ORDER_READ)
    order = access.get_order_for_user(_request(world.frontdesk, world.lab_a), pk)
    assert order.pk == pk


def test_lab_objects_without_a_service_follow_the_same_rules(world):
    member = world.membership(world.frontdesk)
    with pytest.raises(Http404):
        access.get_membership_for_user(_request(world.outsider_admin, world.lab_b), member.pk)
    with pytest.raises(PermissionDenied):
        access.get_membership_for_user(_request(world.dpo, world.lab_a), member.pk)
    assert access.get_membership_for_user(_request(world.labadmin, world.lab_a),
                                          member.pk) == member
