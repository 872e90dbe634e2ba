"""Patient pages: search, registration with duplicates, the patient's page.

The checklist of each view (roles, labs, methods, ids) is tests/web/test_views.py.
"""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.journal.models import Entry
from etanche.patients.models import Patient
from tests.orders.helpers import make_order, make_patient
from tests.personas import sign_in


@pytest.fixture
def w_plain(world):
    world.patient = make_patient(world.lab_a, world.frontdesk, phone="0639980012")
    return world


def _as(user):
    return sign_in(Client(), user)


def test_it_searches_by_full_name_and_explains_why_not_partial(w_plain):
    w = w_plain
    client = _as(w.frontdesk)
    page = client.get(reverse("patient_search")).content.decode()
    assert "La recherche sur un début de nom n'est pas proposée" in page
    assert "index aveugles" in page
    found = client.post(reverse("patient_search"), {"name": "kergoat"}).content.decode()
    assert reverse("patient_detail", kwargs={"pk": w.patient.pk}) in found
    partial = client.post(reverse("patient_search"), {"name": "kerg"}).content.decode()
    assert "0 résultat" in partial
    by_phone = client.post(reverse("patient_search"), {"phone": "06 39 98 00 12"}).content
    assert str(w.patient.pk).encode() in by_phone
    both = client.post(reverse("patient_search"), {"name": "Kergoat", "phone": "0639980012"})
    assert "un seul de ces critères" in both.content.decode()
    search = Entry.objects.filter(lab_id=w.lab_a.pk, action="search").last()
    assert "kergoat" not in (search.detail or "").lower()


def test_other_labs_do_not_find_the_patient(w_plain):
    page = _as(w_plain.other_frontdesk).post(reverse("patient_search"), {"name": "Kergoat"})
    assert "0 résultat" in page.content.decode()


REGISTRATION = {
    "birth_name": "Le Bihan", "first_names": "Yann Erwan", "birth_date": "1990-07-14",
    "sex": "M", "birthplace_code": "29019", "phone": "0639980044",
}


def test_it_registers_a_patient_and_opens_the_record(w_plain):
    client = _as(w_plain.frontdesk)
    response = client.post(reverse("patient_create"), REGISTRATION)
    created = Patient.objects.for_lab(w_plain.lab_a).exclude(pk=w_plain.patient.pk).get()
    assert response["Location"] == reverse("patient_detail", kwargs={"pk": created.pk})
    page = client.get(response["Location"]).content.decode()
    assert "LE BIHAN" in page.upper() and "Identité provisoire" in page
    assert "exige un contrôle de pièce" in page


def test_it_shows_duplicates_before_saving(w_plain):
    client = _as(w_plain.frontdesk)
    data = {"birth_name": "Kergoat", "first_names": "Maëlle Anne", "birth_date": "1984-03-02",
            "sex": "F", "birthplace_code": "35238"}
    response = client.post(reverse("patient_create"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Doublon possible" in page
    assert reverse("patient_detail", kwargs={"pk": w_plain.patient.pk}) in page
    assert Patient.objects.for_lab(w_plain.lab_a).count() == 1
    client.post(reverse("patient_create"), {**data, "not_duplicate": "on"})
    assert Patient.objects.for_lab(w_plain.lab_a).count() == 2


def test_it_puts_french_errors_next_to_the_fields(w_plain):
    response = _as(w_plain.frontdesk).post(reverse("patient_create"), {
        **REGISTRATION, "birth_date": "2999-01-01", "birthplace_code": "00000",
        "postal_code": "12"})
    page = response.content.decode()
    assert "La date de naissance est dans le futur." in page
    assert "Le code postal doit comporter 5 chiffres." in page
    assert Patient.objects.for_lab(w_plain.lab_a).count() == 1


def test_it_validates_an_identity_checked_against_a_document(w_plain):
    client = _as(w_plain.frontdesk)
    response = client.post(reverse("patient_create"), {**REGISTRATION, "id_document": "cni"})
    page = client.get(response["Location"]).content.decode()
    assert "Identité validée" in page


def test_the_patient_page_lists_requests_and_journals_the_read(w_plain):
    order = make_order(w_plain.lab_a, w_plain.frontdesk, w_plain.patient)
    page = _as(w_plain.frontdesk).get(
        reverse("patient_detail", kwargs={"pk": w_plain.patient.pk})).content.decode()
    assert order.number in page
    assert reverse("order_create", kwargs={"patient_id": w_plain.patient.pk}) in page
    assert reverse("access_history", kwargs={"patient_id": w_plain.patient.pk}) not in page
    read = Entry.objects.filter(lab_id=w_plain.lab_a.pk, action="read",
                                object_id=str(w_plain.patient.pk)).last()
    assert read.purpose == "accueil" and read.user_id == w_plain.frontdesk.pk


def test_it_follows_a_merge_to_the_surviving_record(w_plain):
    from etanche.patients import services as patients

    twin = make_patient(w_plain.lab_a, w_plain.frontdesk, birth_name="Kergoet")
    patients.merge_patients(w_plain.lab_a, w_plain.frontdesk, w_plain.patient.pk, twin.pk)
    response = _as(w_plain.frontdesk).get(reverse("patient_detail", kwargs={"pk": twin.pk}))
    assert response["Location"] == reverse("patient_detail", kwargs={"pk": w_plain.patient.pk})
