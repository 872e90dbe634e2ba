"""The patient list of the day (issue 24, item 12): registered today or with a request
today, paged, record numbers only until names are asked for by a role that may read
records, each name shown journaled as a read."""

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from etanche.journal.models import Action, Entry
from etanche.patients.models import Patient
from etanche.web.patients import DAY_PAGE
from tests.orders.helpers import make_order, make_patient
from tests.personas import sign_in


def _reads(patient_ids) -> int:
    return Entry.objects.filter(action=Action.READ, object_type="patient",
                                object_id__in=[str(pk) for pk in patient_ids]).count()


def test_it_lists_todays_patients_and_names_only_on_request(world):
    today = make_patient(world.lab_a, world.frontdesk, phone="0639980401")
    old = make_patient(world.lab_a, world.frontdesk, birth_name="Le Bihan", phone="0639980402")
    yesterday = timezone.now() - timedelta(days=2)
    Patient.objects.filter(pk=old.pk).update(created_at=yesterday)
    quiet = make_patient(world.lab_a, world.frontdesk, birth_name="Quéré", phone="0639980403")
    Patient.objects.filter(pk=quiet.pk).update(created_at=yesterday)
    make_order(world.lab_a, world.frontdesk, old)  # an older patient with a request today
    elsewhere = make_patient(world.lab_b, None, phone="0639980404")
    client = sign_in(Client(), world.frontdesk)
    before = _reads([today.pk, old.pk])
    page = client.get(reverse("patients_today")).content.decode()
    assert f"Dossier n° {today.pk}" in page and f"Dossier n° {old.pk}" in page
    assert f"Dossier n° {quiet.pk}" not in page and f"Dossier n° {elsewhere.pk}" not in page
    assert "KERGOAT" not in page and "LE BIHAN" not in page  # names only on request
    assert _reads([today.pk, old.pk]) == before
    named = client.get(reverse("patients_today"), {"noms": "1"}).content.decode()
    assert "KERGOAT" in named and "LE BIHAN" in named and "QUERE" not in named
    assert _reads([today.pk, old.pk]) == before + 2  # one read journaled per person shown


def test_it_pages_and_journals_only_the_page_shown(world):
    ids = [make_patient(world.lab_a, world.frontdesk, birth_name=f"Kergoat{'x' * i}",
                        phone=f"06399805{i:02d}").pk for i in range(DAY_PAGE + 2)]
    client = sign_in(Client(), world.frontdesk)
    first = client.get(reverse("patients_today"), {"noms": "1"}).content.decode()
    assert "Page 1 sur 2" in first and "page=2" in first
    assert _reads(ids) == DAY_PAGE
    second = client.get(reverse("patients_today"), {"noms": "1", "page": "2"}).content.decode()
    assert second.count("Dossier n° ") == 2 and _reads(ids) == DAY_PAGE + 2
