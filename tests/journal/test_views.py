"""DPO and auditor views of the journal: what they show and journal.

The checklist of each view (roles, labs, methods, ids) is tests/web/test_views.py.
"""

import json
from datetime import date

import pytest

from etanche.journal import queries, services
from etanche.journal.models import Action, Entry
from etanche.vault import signing
from tests.personas import sign_in


def _read(world, lab, patient_id, user):
    services.record(
        lab=lab,
        user=user,
        action=Action.READ,
        object_type="patient",
        object_id=patient_id,
        purpose="prise en charge",
    )


# --- /journal/


def test_it_lists_the_lab_entries_for_the_dpo(client, world):
    _read(world, world.lab_a, 7, world.frontdesk)
    _read(world, world.lab_b, 8, world.outsider_admin)
    sign_in(client, world.dpo)
    response = client.get("/journal/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "julien.martin" in html
    assert "paul.durand" not in html  # another lab's journal never shows


def test_it_filters_by_user_action_patient_and_date(client, world):
    _read(world, world.lab_a, 7, world.frontdesk)
    _read(world, world.lab_a, 9, world.biologist)
    sign_in(client, world.dpo)
    today = date.today().isoformat()
    response = client.get(
        "/journal/",
        {"user": world.biologist.pk, "action": "read", "patient": 9, "start": today, "end": today},
    )
    page = list(response.context["page"])
    assert [(e.actor, e.object_id) for e in page] == [("sophie.bernard", "9")]


def test_it_shows_a_french_error_for_a_reversed_period(client, world):
    sign_in(client, world.dpo)
    response = client.get("/journal/", {"start": "2026-05-02", "end": "2026-05-01"})
    assert "La date de fin précède la date de début." in response.content.decode()


def test_reading_the_journal_is_journaled(client, world):
    sign_in(client, world.dpo)
    client.get("/journal/", {"action": "read"})
    entry = Entry.objects.filter(action=Action.JOURNAL_VIEW).get()
    assert (entry.user_id, entry.lab_id) == (world.dpo.pk, world.lab_a.pk)
    assert entry.detail == '{"filters":["action"]}'


# --- /journal/patient/<id>/


@pytest.fixture
def patients(world):
    """Two synthetic patients of lab A and one of lab B, registered for real."""
    from tests.orders.helpers import make_patient

    world.p1 = make_patient(world.lab_a, world.frontdesk, phone="0639980012")
    world.p2 = make_patient(world.lab_a, world.frontdesk, phone="0639980013")
    world.p_b = make_patient(world.lab_b, None, phone="0639980014")
    return world


def _history(pk):
    return f"/journal/patient/{pk}/"


def test_it_shows_who_saw_a_patient(client, patients):
    w = patients
    _read(w, w.lab_a, w.p1.pk, w.biologist)
    _read(w, w.lab_a, w.p2.pk, w.frontdesk)
    sign_in(client, w.dpo)
    response = client.get(_history(w.p1.pk))
    assert response.status_code == 200
    page = list(response.context["page"])
    assert ("sophie.bernard", "prise en charge") in [(e.actor, e.purpose) for e in page]
    assert {e.object_id for e in page} == {str(w.p1.pk)}


def test_history_is_one_query(patients, django_assert_num_queries):
    w = patients
    for patient in (w.p1, w.p1, w.p2):
        _read(w, w.lab_a, patient.pk, w.frontdesk)
    expected = queries.access_history(w.lab_a, w.p1.pk).count()
    with django_assert_num_queries(1):
        assert len(list(queries.access_history(w.lab_a, w.p1.pk))) == expected


def test_history_follows_records_merged_into_the_patient(client, patients):
    from etanche.patients import services as patient_services

    w = patients
    patient_services.merge_patients(w.lab_a, w.biologist, w.p1.pk, w.p2.pk)
    sign_in(client, w.dpo)
    page = list(client.get(_history(w.p1.pk)).context["page"])
    assert {str(w.p1.pk), str(w.p2.pk)} <= {e.object_id for e in page}


# --- /journal/export/


def test_it_exports_a_signed_period(client, world):
    _read(world, world.lab_a, 7, world.frontdesk)
    _read(world, world.lab_b, 8, world.outsider_admin)
    sign_in(client, world.dpo)
    today = date.today().isoformat()
    response = client.get("/journal/export/", {"start": today, "end": today})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().splitlines(keepends=True)
    actors = {json.loads(line)["actor"] for line in lines[:-1]}
    assert "julien.martin" in actors
    assert "paul.durand" not in actors
    # Journaled once the query ran, so after the lines it exported.
    assert "nathalie.petit" not in actors
    assert Entry.objects.filter(action=Action.JOURNAL_EXPORT, user_id=world.dpo.pk).exists()
    public = signing.journal_public_key(world.lab_a)
    assert queries.check_signed_export(lines, public) is None
    tampered = next(i for i, line in enumerate(lines) if "julien.martin" in line)
    lines[tampered] = lines[tampered].replace("julien.martin", "someone.else")
    assert queries.check_signed_export(lines, public) == "content differs from what was signed"


def test_export_needs_a_valid_period(client, world):
    sign_in(client, world.dpo)
    response = client.get("/journal/export/", {"start": "pas une date"})
    assert response.status_code == 400
    assert "Saisissez une date valide." in response.content.decode()


def test_export_is_journaled(client, world):
    sign_in(client, world.dpo)
    client.get("/journal/export/", {"start": "2026-01-01", "end": "2026-01-02"})
    assert Entry.objects.filter(action=Action.JOURNAL_EXPORT, user_id=world.dpo.pk).count() == 1


def test_the_dpo_reaches_a_patients_access_history_from_the_patient_page(client, world):
    from django.urls import reverse

    from tests.orders.helpers import make_patient

    patient = make_patient(world.lab_a, world.frontdesk, phone="0639980012")
    sign_in(client, world.dpo)
    page = client.get(reverse("patient_detail", kwargs={"pk": patient.pk})).content.decode()
    history = reverse("access_history", kwargs={"patient_id": patient.pk})
    assert history in page
    entries = list(client.get(history).context["page"])
    # The DPO's own read of the record is in its history, under the DPO's name.
    assert any(e.actor == "nathalie.petit" and e.action == Action.READ for e in entries)
