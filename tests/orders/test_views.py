"""Request, label and catalogue pages: what they do (the checklist is tests/web/test_views.py)."""

import json

import pytest
from django.urls import reverse

from etanche.journal.models import Entry
from etanche.orders import memo, prescribers
from etanche.orders import services as orders_service
from etanche.orders.models import CatalogueTest, Order, Status
from tests.orders.helpers import make_order


@pytest.fixture
def w(front_office):
    world = front_office
    world.test = CatalogueTest.objects.for_lab(world.lab_a).get(code="1104")
    return world


# --- request entry ----------------------------------------------------------------------

def _entry(w, **overrides):
    data = {"tests": "1104 1208 0127", "prescriber_name": "Dr Le Bras",
            "prescriber_rpps": "10003456789", "prescription_date": "2026-01-05",
            "q_anticoagulant": "aucun", "clinical_info": "Fatigue", "notes": ""}
    data.update(overrides)
    return data


def test_it_registers_a_request_and_remembers_the_prescriber(w, as_user):
    client = as_user(w.frontdesk)
    url = reverse("order_create", kwargs={"patient_id": w.patient.pk})
    response = client.post(url, _entry(w))
    order = Order.objects.for_lab(w.lab_a).exclude(pk=w.order.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("order_detail", kwargs={"pk": order.pk})
    assert sorted(t.code for t in order.tests.all()) == ["0127", "1104", "1208"]
    page = client.get(url).content.decode()
    # Offered as one choice (name and RPPS together), never filled in nor selected.
    assert 'value="Dr Le Bras"' not in page and 'value="10003456789"' not in page
    assert 'name="prescriber_choice" value="10003456789|Dr Le Bras">' in page
    assert "checked" not in page.split('id="prescriber"')[1].split("</fieldset>")[0]
    # The memo in the (database) session is sealed, bound to this user.
    stored = client.session[memo.SESSION_KEY]
    assert "Bras" not in stored
    assert memo.recall({memo.SESSION_KEY: stored}, w.lab_a, w.biologist) == {}


def test_it_shows_french_errors_next_to_fields_and_saves_nothing(w, as_user):
    client = as_user(w.frontdesk)
    url = reverse("order_create", kwargs={"patient_id": w.patient.pk})
    response = client.post(url, _entry(w, tests="1104 0127 ZZZ9", q_anticoagulant="",
                                       prescriber_rpps="12"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Analyse inconnue ou désactivée au catalogue : ZZZ9." in page
    assert "Le numéro RPPS doit comporter 11 chiffres." in page
    assert Order.objects.count() == 1


def _new_entries(before):
    return list(Entry.objects.order_by("pk")[before:].values_list("action", "object_id",
                                                                   "user_id"))


def test_entering_a_request_journals_its_creation_once(w, as_user):
    client = as_user(w.frontdesk)
    url = reverse("order_create", kwargs={"patient_id": w.patient.pk})
    before = Entry.objects.count()
    assert client.post(url, _entry(w)).status_code == 302
    # The redirect shows nothing: one CREATE naming the patient, no READ of a page not shown.
    assert _new_entries(before) == [("create", str(w.patient.pk), w.frontdesk.pk)]


def test_showing_the_request_form_again_journals_the_read(w, as_user):
    client = as_user(w.frontdesk)
    url = reverse("order_create", kwargs={"patient_id": w.patient.pk})
    before = Entry.objects.count()
    page = client.post(url, _entry(w, tests="ZZZ9")).content.decode()
    assert "KERGOAT" in page.upper()
    assert _new_entries(before) == [("read", str(w.patient.pk), w.frontdesk.pk)]


def test_a_request_for_a_merged_record_goes_to_the_survivor(w, as_user):
    from etanche.patients import services as patients
    from tests.orders.helpers import make_patient

    twin = make_patient(w.lab_a, w.frontdesk)
    patients.merge_patients(w.lab_a, w.frontdesk, w.patient.pk, twin.pk)
    client = as_user(w.frontdesk)
    url = reverse("order_create", kwargs={"patient_id": twin.pk})
    assert client.post(url, _entry(w)).status_code == 302
    order = Order.objects.for_lab(w.lab_a).exclude(pk=w.order.pk).get()
    assert order.patient_id == w.patient.pk


def test_it_asks_the_questions_the_chosen_tests_need(w, as_user):
    client = as_user(w.frontdesk)
    url = reverse("order_create", kwargs={"patient_id": w.patient.pk})
    response = client.post(url, _entry(w, tests="1104 0127", q_anticoagulant=""))
    page = response.content.decode()
    assert 'name="q_anticoagulant"' in page
    assert "Réponse obligatoire pour une analyse demandée." in page
    preview = client.post(reverse("order_tests_preview"), {"tests": "1420", "add": "0552"})
    html = preview.content.decode()
    assert 'name="q_pregnancy"' in html and 'name="q_fasting"' in html
    assert 'name="q_anticoagulant"' not in html
    assert 'value="1420 0552"' in html and 'hx-swap-oob="true"' in html


def test_it_searches_the_catalogue_for_the_picker(w, as_user):
    html = as_user(w.frontdesk).get(reverse("test_search"), {"q": "ferritine"}).content.decode()
    assert "1213" in html and '"add": "1213"' in html


# --- the request page -------------------------------------------------------------------

def test_it_shows_the_request_and_clinical_information_to_biologists_only(w, as_user):
    order = make_order(w.lab_a, w.frontdesk, w.patient, clinical_info="Suspicion de carence")
    url = reverse("order_detail", kwargs={"pk": order.pk})
    front = as_user(w.frontdesk).get(url).content.decode()
    assert "Dr Lefebvre" in front and "KERGOAT" in front.upper()
    assert "Suspicion de carence" not in front
    assert "Suspicion de carence" in as_user(w.biologist).get(url).content.decode()
    reads = Entry.objects.filter(lab_id=w.lab_a.pk, action="read", object_type="patient",
                                 object_id=str(w.patient.pk))
    assert any(json.loads(e.detail or "{}").get("order") == order.pk for e in reads)


def test_it_records_sampling_reception_and_rejection(w, as_user):
    client = as_user(w.frontdesk)
    pk = w.order.pk
    response = client.post(reverse("order_sample", kwargs={"pk": pk}),
                           {"sampled_at": "2026-01-05T08:00", "collector": w.biologist.pk})
    assert response.status_code == 302
    # 2026-01-05 precedes the request by more than two days: refused, in French
    assert Order.objects.get(pk=pk).status == Status.REGISTERED
    page = client.get(reverse("order_detail", kwargs={"pk": pk})).content.decode()
    assert "précède la demande" in page
    from django.utils import timezone
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("order_sample", kwargs={"pk": pk}),
                {"sampled_at": now, "collector": w.biologist.pk})
    order = Order.objects.get(pk=pk)
    assert order.status == Status.SAMPLED
    assert {s.collector_id for s in order.specimens.all()} == {w.biologist.pk}
    client.post(reverse("order_receive", kwargs={"pk": pk}))
    client.post(reverse("order_reject", kwargs={"pk": pk}), {"reason": "hemolysed"})
    order = Order.objects.get(pk=pk)
    assert (order.status, order.reject_reason) == (Status.REJECTED, "hemolysed")


def test_it_refuses_an_outsider_as_collector(w, as_user):
    client = as_user(w.frontdesk)
    from django.utils import timezone
    client.post(reverse("order_sample", kwargs={"pk": w.order.pk}),
                {"sampled_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                 "collector": w.other_frontdesk.pk})
    assert Order.objects.get(pk=w.order.pk).status == Status.REGISTERED


def test_it_cancels_with_a_reason(w, as_user):
    client = as_user(w.frontdesk)
    url = reverse("order_cancel", kwargs={"pk": w.order.pk})
    client.post(url, {"reason": ""})
    assert Order.objects.get(pk=w.order.pk).status == Status.REGISTERED
    client.post(url, {"reason": "Demande en double"})
    assert Order.objects.get(pk=w.order.pk).status == Status.CANCELLED


def test_it_streams_labels_with_no_store(w, as_user):
    response = as_user(w.frontdesk).get(reverse("order_labels", kwargs={"pk": w.order.pk}))
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert response.content.startswith(b"%PDF-")
    assert Entry.objects.filter(lab_id=w.lab_a.pk, action="print").count() == 1


# --- home and catalogue -----------------------------------------------------------------

def test_home_lists_todays_requests_without_names(w, as_user):
    page = as_user(w.frontdesk).get(reverse("home")).content.decode()
    assert w.order.number in page and "Enregistrée" in page
    assert "KERGOAT" not in page.upper()
    auditor = as_user(w.auditor).get(reverse("home")).content.decode()
    assert w.order.number not in auditor
    other = as_user(w.other_frontdesk).get(reverse("home")).content.decode()
    assert w.order.number not in other


def test_it_lets_lab_admins_manage_the_catalogue(w, as_user):
    client = as_user(w.labadmin)
    client.post(reverse("catalogue_toggle", kwargs={"pk": w.test.pk}))
    assert not CatalogueTest.objects.get(pk=w.test.pk).enabled
    page = client.get(reverse("catalogue"), {"etat": "desactivees"}).content.decode()
    assert "1104" in page and "avril 2019" in page
    client.post(reverse("catalogue_edit", kwargs={"pk": w.test.pk}),
                {"specimen": "citrate", "questions": ["anticoagulant"]})
    test = CatalogueTest.objects.get(pk=w.test.pk)
    assert (test.specimen, test.questions) == ("citrate", "anticoagulant")
    response = client.post(reverse("catalogue_add"), {"code": "1999", "label": "x",
                                                      "specimen": "serum"})
    assert "Un code local commence par une lettre" in response.content.decode()
    client.post(reverse("catalogue_add"), {"code": "L42", "label": "Analyse maison",
                                           "specimen": "serum"})
    assert CatalogueTest.objects.for_lab(w.lab_a).filter(code="L42", origin="local").exists()
    assert not CatalogueTest.objects.for_lab(w.lab_b).filter(code="L42").exists()


# --- the prescriber: offered, never prefilled (issue 24, item 1) -----------------------------

def _first(client, w, **overrides):
    url = reverse("order_create", kwargs={"patient_id": w.patient.pk})
    assert client.post(url, _entry(w, **overrides)).status_code == 302
    return url


def test_a_new_request_offers_the_patients_prescribers_and_selects_none(w, as_user):
    # w.order (made by the fixture) was prescribed by Dr Lefebvre, without RPPS.
    client = as_user(w.biologist)
    url = reverse("order_create", kwargs={"patient_id": w.patient.pk})
    page = client.get(url).content.decode()
    assert 'value="|Dr Lefebvre"' in page and "pour ce patient" in page
    name_input = page.split('name="prescriber_name"')[1].split(">")[0]
    assert "value=" not in name_input
    assert "Aucun prescripteur choisi." in page


def test_saving_without_choosing_a_prescriber_is_refused(w, as_user):
    client = as_user(w.frontdesk)
    url = reverse("order_create", kwargs={"patient_id": w.patient.pk})
    response = client.post(url, _entry(w, prescriber_name="", prescriber_rpps=""))
    assert response.status_code == 200
    assert "Choisissez le prescripteur dans la liste ou saisissez-le." in \
        response.content.decode()
    assert Order.objects.count() == 1


def test_a_chosen_prescriber_keeps_its_own_rpps(w, as_user):
    client = as_user(w.frontdesk)
    url = _first(client, w, prescriber_name="Dr Kerbrat", prescriber_rpps="10003456789")
    response = client.post(url, _entry(w, prescriber_name="", prescriber_rpps="",
                                       prescriber_choice="10003456789|Dr Kerbrat"))
    assert response.status_code == 302
    order = Order.objects.for_lab(w.lab_a).order_by("-created_at").first()
    sealed = order.get_sealed()
    assert (sealed["prescriber_name"], sealed["prescriber_rpps"]) == ("Dr Kerbrat",
                                                                      "10003456789")


def test_another_name_with_a_known_prescribers_rpps_is_refused(w, as_user):
    # The slip of the issue: the name changed, Dr Kerbrat's RPPS kept.
    client = as_user(w.frontdesk)
    url = _first(client, w, prescriber_name="Dr Kerbrat", prescriber_rpps="10003456789")
    response = client.post(url, _entry(w, prescriber_name="Dr Le Bihan",
                                       prescriber_rpps="10003456789"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Le RPPS 10003456789 est celui de Dr Kerbrat" in page
    assert Order.objects.count() == 2


def test_the_patients_prescribers_are_looked_up_only_when_a_check_needs_them(
        w, as_user, monkeypatch):
    client = as_user(w.frontdesk)
    url = _first(client, w, prescriber_name="Dr Kerbrat", prescriber_rpps="10003456789")
    looked_up = []
    real = prescribers.of_patient
    monkeypatch.setattr(prescribers, "of_patient",
                        lambda *a, **k: looked_up.append(True) or real(*a, **k))
    assert client.post(url, _entry(w, prescriber_rpps="")).status_code == 302
    assert looked_up == []
    # An RPPS typed: compared with the known prescribers' (the slip of issue 24).
    response = client.post(url, _entry(w, prescriber_name="Dr Le Bihan",
                                       prescriber_rpps="10003456789"))
    assert "Le RPPS 10003456789 est celui de Dr Kerbrat" in response.content.decode()
    assert looked_up == [True]


def test_a_choice_and_a_typed_prescriber_together_are_refused(w, as_user):
    client = as_user(w.frontdesk)
    url = _first(client, w, prescriber_name="Dr Kerbrat", prescriber_rpps="10003456789")
    response = client.post(url, _entry(w, prescriber_name="Dr Le Bihan", prescriber_rpps="",
                                       prescriber_choice="10003456789|Dr Kerbrat"))
    assert "gardez l&#x27;un ou l&#x27;autre" in response.content.decode()
    assert Order.objects.count() == 2


def test_the_preview_shows_the_chosen_prescriber(w, as_user):
    client = as_user(w.frontdesk)
    response = client.post(reverse("order_tests_preview"), {
        "part": "prescriber", "prescriber_choice": "10003456789|Dr Kerbrat"})
    page = response.content.decode()
    assert "Résultats adressés à <strong>Dr Kerbrat</strong>" in page
    assert "10003456789" in page


# --- the patient's receipt (issue 24, "Also") ------------------------------------------------

def test_the_receipt_holds_number_tests_and_nothing_clinical(w, as_user):
    client = as_user(w.frontdesk)
    order = make_order(w.lab_a, w.frontdesk, w.patient, clinical_info="Sous fluindione",
                       notes="Patient anxieux")
    before = Entry.objects.count()
    page = client.get(reverse("order_receipt", kwargs={"pk": order.pk})).content.decode()
    assert order.number in page and "Hémogramme" in page and "KERGOAT" in page
    assert "fluindione" not in page and "anxieux" not in page and "Lefebvre" not in page
    assert "data-print" in page
    assert _new_entries(before) == [("print", str(w.patient.pk), w.frontdesk.pk)]


# --- today's list (issue 24, item 12) ----------------------------------------------------------

def test_todays_list_filters_pages_and_names_only_on_request_journaled(w, as_user):
    for _ in range(3):
        make_order(w.lab_a, w.frontdesk, w.patient, tests=["1104"], urgent=True)
    client = as_user(w.frontdesk)
    page = client.get("/").content.decode()
    assert "Demandes du jour" in page and "(4)" in page and "KERGOAT" not in page
    urgent = client.get("/", {"urgent": "1"}).content.decode()
    assert "(3)" in urgent
    before = Entry.objects.count()
    named = client.get("/", {"noms": "1"}).content.decode()
    assert "KERGOAT Maëlle" in named
    assert _new_entries(before) == [("read", str(w.patient.pk), w.frontdesk.pk)]


# --- editing a request before sampling (issue 24, item 13) ----------------------------------

def test_a_request_is_corrected_before_sampling_and_journaled(w, as_user):
    client = as_user(w.frontdesk)
    url = reverse("order_edit", kwargs={"pk": w.order.pk})
    page = client.get(url).content.decode()
    assert "Modifier la demande" in page and "prescripteur actuel de cette demande" in page
    tubes_before = {s.container: s.barcode for s in w.order.specimens.all()}
    before = Entry.objects.count()
    response = client.post(url, _entry(w, tests="1104 1208", prescriber_name="",
                                       prescriber_rpps="", prescriber_choice="|Dr Lefebvre"))
    assert response.status_code == 302
    w.order.refresh_from_db()
    assert sorted(t.code for t in w.order.tests.all()) == ["1104", "1208"]
    tubes = {s.container: s.barcode for s in w.order.specimens.all()}
    assert all(tubes_before[c] == b for c, b in tubes.items() if c in tubes_before)
    assert "citrate" not in " ".join(tubes)  # the INR's tube went with it
    [entry] = [e for e in Entry.objects.order_by("pk")[before:] if e.action == "update"]
    assert json.loads(entry.detail) == {"order": w.order.pk, "tests_added": 0,
                                        "tests_removed": 1, "prescriber_changed": False}


def test_a_sampled_request_is_not_edited(w, as_user):
    client = as_user(w.frontdesk)
    orders_service.record_sampling(w.lab_a, w.frontdesk, w.order)
    response = client.get(reverse("order_edit", kwargs={"pk": w.order.pk}))
    assert response.status_code == 302
