"""Issue 24, item 8: the journal for a DPO: one row per access, names for those allowed,
purposes that fit the role, a printable access history."""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.journal.models import Entry
from tests.orders.helpers import make_order, make_patient
from tests.personas import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen(world):
    patient = make_patient(world.lab_a, world.frontdesk, birth_name="Kergoat")
    order = make_order(world.lab_a, world.frontdesk, patient)
    return patient, order


def test_opening_a_request_writes_one_row(world, seen):
    _, order = seen
    before = Entry.objects.count()
    sign_in(Client(), world.frontdesk).get(reverse("order_detail", args=[order.pk]))
    rows = list(Entry.objects.order_by("pk")[before:].values_list("action", "purpose"))
    assert rows == [("read", "consultation d'une demande")]


def test_a_dpo_reads_for_oversight_not_for_the_front_desk(world, seen):
    patient, _ = seen
    sign_in(Client(), world.dpo).get(reverse("patient_detail", args=[patient.pk]))
    entry = Entry.objects.filter(user_id=world.dpo.pk, action="read").latest("pk")
    assert entry.purpose == "contrôle de conformité (DPO)"


def test_the_journal_names_people_and_records_for_the_dpo(world, seen):
    patient, _ = seen
    page = sign_in(Client(), world.dpo).get(reverse("journal")).content.decode()
    assert "dossier KERGOAT Maëlle" in page
    assert str(patient.pk) not in page


def test_the_access_history_is_titled_by_name_and_printable(world, seen):
    patient, _ = seen
    page = sign_in(Client(), world.dpo).get(
        reverse("access_history", args=[patient.pk])).content.decode()
    assert "Historique des accès au dossier de KERGOAT Maëlle" in page
    assert "data-print" in page and "print.js" in page and "print.css" in page
