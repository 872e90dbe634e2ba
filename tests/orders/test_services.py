import json
import re
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from etanche.journal.models import Entry
from etanche.orders import services
from etanche.orders.models import Order, OrderCounter, OrderTest, Specimen, Status
from etanche.synthetic import requests as synthetic_requests
from tests.leakscan import find_leaks, raw_database_bytes
from tests.orders.helpers import make_order, make_patient
from tests.personas import build_world


@pytest.mark.usefixtures("front_office")
def test_it_numbers_requests_per_lab_and_year(world):
    second = make_order(world.lab_a, world.frontdesk, world.patient, tests=["1104"])
    other_lab_patient = make_patient(world.lab_b, world.outsider_admin)
    in_b = make_order(world.lab_b, world.outsider_admin, other_lab_patient, tests=["1104"])
    year = timezone.localdate().year
    assert world.order.number == f"{year}-000001"
    assert second.number == f"{year}-000002"
    assert in_b.number == f"{year}-000001"
    assert re.fullmatch(r"\d{4}-\d{6}", second.number)
    assert services.next_number(world.lab_a, year + 1) == f"{year + 1}-000001"


@pytest.mark.usefixtures("front_office")
def test_request_entry_locks_the_journal_last(world):
    """The counter's row is locked (its UPDATE) before the journal's chain, and the
    journal's lock comes after every write of the request: the journal is locked last."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as sent:
        order = make_order(world.lab_a, world.frontdesk, world.patient, tests=["1104"])
    statements = [q["sql"] for q in sent.captured_queries]
    bump = next(i for i, q in enumerate(statements) if q.startswith("UPDATE \"orders_ordercounter"))
    lock = next(i for i, q in enumerate(statements) if "journal_chain" in q and
                q.startswith("SELECT"))
    writes = [i for i, q in enumerate(statements) if q.startswith("INSERT INTO \"orders_")]
    assert bump < min(writes) and max(writes) < lock
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in statements[lock]
    year = timezone.localdate().year
    assert order.number == f"{year}-000002"
    created = Entry.objects.filter(lab_id=world.lab_a.pk).order_by("-seq").first()
    assert json.loads(created.detail) == {"order": order.pk, "tests": 1}


@pytest.mark.usefixtures("front_office")
def test_it_derives_one_specimen_per_container_with_barcodes(world):
    specimens = list(world.order.specimens.order_by("barcode"))
    digits = world.order.number.replace("-", "")
    # 1104 blood count -> EDTA, 0127 INR -> citrate, 1208 TSH -> serum (lab defaults)
    assert [(s.barcode, s.container) for s in specimens] == [
        (f"{digits}01", "edta"), (f"{digits}02", "citrate"), (f"{digits}03", "serum")]
    assert sorted(t.code for t in world.order.tests.all()) == ["0127", "1104", "1208"]


@pytest.mark.usefixtures("front_office")
def test_it_seals_prescription_answers_and_notes(world):
    order = make_order(world.lab_a, world.frontdesk, world.patient, clinical_info="Suivi AVK",
                       notes="Patient anxieux", prescriber_rpps="10003456789")
    row = Order.objects.get(pk=order.pk)
    details = services.read_order(world.lab_a, world.biologist, row)
    assert details.prescriber_name == "Dr Lefebvre"
    assert details.prescriber_rpps == "10003456789"
    assert details.clinical_info == "Suivi AVK"
    assert details.answers == {"anticoagulant": "aucun"}
    assert b"AVK" not in bytes(row.sealed) and b"Lefebvre" not in bytes(row.sealed)


@pytest.mark.usefixtures("front_office")
def test_it_journals_creation_and_reads_under_the_patient(world):
    services.read_order(world.lab_a, world.frontdesk, world.order)
    entries = Entry.objects.filter(lab_id=world.lab_a.pk, object_type="patient",
                                   object_id=str(world.patient.pk))
    actions = [(e.action, json.loads(e.detail or "{}").get("order"))
               for e in entries.order_by("seq")]
    assert ("create", world.order.pk) in actions
    assert ("read", world.order.pk) in actions


@pytest.mark.usefixtures("front_office")
def test_it_refuses_a_request_without_tests_or_prescriber_and_saves_nothing(world):
    before = (Order.objects.count(), OrderTest.objects.count(), Specimen.objects.count())
    with pytest.raises(ValidationError) as caught:
        services.create_order(world.lab_a, world.frontdesk, world.patient, tests=["9999", ""],
                              prescriber_name=" ", prescription_date="2999-01-01",
                              prescriber_rpps="123")
    errors = caught.value.message_dict
    assert "9999" in errors["tests"][0]
    assert errors["prescriber_name"] == ["Indiquez le prescripteur."]
    assert "11 chiffres" in errors["prescriber_rpps"][0]
    assert "futur" in errors["prescription_date"][0]
    assert (Order.objects.count(), OrderTest.objects.count(), Specimen.objects.count()) == before
    assert OrderCounter.objects.get(lab=world.lab_a).last == 1


@pytest.mark.usefixtures("front_office")
def test_it_requires_the_answers_the_chosen_tests_need(world):
    with pytest.raises(ValidationError) as caught:
        make_order(world.lab_a, world.frontdesk, world.patient, tests=["0127", "1420"],
                   answers={})
    assert set(caught.value.message_dict) == {"q_anticoagulant", "q_pregnancy"}
    order = make_order(world.lab_a, world.frontdesk, world.patient, tests=["0552"],
                       answers={"fasting": "oui", "anticoagulant": "ignored"})
    details = services.read_order(world.lab_a, world.frontdesk, order)
    # Only the questions of the chosen tests are kept; fasting is also the request's flag.
    assert details.answers == {"fasting": True}
    assert details.fasting is True


@pytest.mark.usefixtures("front_office")
def test_it_refuses_a_disabled_test(world):
    from etanche.orders import catalogue

    test = catalogue.all_tests(world.lab_a).get(code="1208")
    catalogue.set_enabled(world.lab_a, world.labadmin, test, False)
    with pytest.raises(ValidationError) as caught:
        make_order(world.lab_a, world.frontdesk, world.patient, tests=["1208"])
    assert "désactivée" in caught.value.message_dict["tests"][0]


@pytest.mark.usefixtures("front_office")
def test_it_refuses_another_labs_patient(world):
    other = make_patient(world.lab_b, world.outsider_admin)
    with pytest.raises(ValidationError):
        make_order(world.lab_a, world.frontdesk, other)


# --- workflow ---------------------------------------------------------------------------

@pytest.mark.usefixtures("front_office")
def test_it_walks_registered_sampled_received(world):
    at = timezone.now() - timedelta(minutes=3)
    order = services.record_sampling(world.lab_a, world.frontdesk, world.order, sampled_at=at,
                                     collector=world.biologist)
    assert order.status == Status.SAMPLED
    assert {(s.sampled_at, s.collector_id) for s in order.specimens.all()} == {
        (at, world.biologist.pk)}
    order = services.receive(world.lab_a, world.biologist, order)
    assert order.status == Status.RECEIVED
    assert all(s.received_at for s in order.specimens.all())


@pytest.mark.parametrize(("steps", "refused"), [
    (["receive"], "receive"),                         # not sampled yet
    (["sample", "sample"], "sample"),                 # sampled twice
    (["cancel", "sample"], "sample"),                 # cancelled is final
    (["reject"], "reject"),                           # nothing to reject before sampling
    (["sample", "receive", "cancel"], "cancel"),      # received: reject, not cancel
    (["sample", "reject", "receive"], "receive"),     # rejected is final
])
@pytest.mark.usefixtures("front_office")
def test_it_refuses_transitions_outside_the_workflow(world, steps, refused):
    order = world.order
    actions = {
        "sample": lambda o: services.record_sampling(world.lab_a, world.frontdesk, o),
        "receive": lambda o: services.receive(world.lab_a, world.frontdesk, o),
        "cancel": lambda o: services.cancel(world.lab_a, world.frontdesk, o, "doublon"),
        "reject": lambda o: services.reject(world.lab_a, world.frontdesk, o, "hemolysed"),
    }
    *allowed, last = steps
    for step in allowed:
        order = actions[step](order)
    status = Order.objects.get(pk=order.pk).status
    with pytest.raises(services.TransitionRefused) as caught:
        actions[last](order)
    assert "Impossible" in caught.value.messages[0]
    assert last == refused
    assert Order.objects.get(pk=order.pk).status == status


@pytest.mark.usefixtures("front_office")
def test_it_needs_a_reason_to_cancel_or_reject(world):
    with pytest.raises(ValidationError):
        services.cancel(world.lab_a, world.frontdesk, world.order, "  ")
    services.record_sampling(world.lab_a, world.frontdesk, world.order)
    with pytest.raises(ValidationError):
        services.reject(world.lab_a, world.frontdesk, world.order, "not-a-reason")
    order = services.reject(world.lab_a, world.frontdesk, world.order, "clotted", "tube 2")
    assert order.reject_reason == "clotted"
    assert services.read_order(world.lab_a, world.frontdesk, order).reject_comment == "tube 2"


@pytest.mark.usefixtures("front_office")
def test_it_refuses_a_sampling_time_in_the_future(world):
    with pytest.raises(ValidationError):
        services.record_sampling(world.lab_a, world.frontdesk, world.order,
                                 sampled_at=timezone.now() + timedelta(hours=1))
    assert Order.objects.get(pk=world.order.pk).status == Status.REGISTERED


@pytest.mark.usefixtures("front_office")
def test_it_lists_the_day_and_the_patients_requests(world):
    assert [o.pk for o in services.orders_of_day(world.lab_a)] == [world.order.pk]
    assert list(services.orders_of_day(world.lab_b)) == []
    assert list(services.orders_of_day(world.lab_a, timezone.localdate() - timedelta(days=1))) == []
    assert [o.pk for o in services.orders_for_patient(world.lab_a, world.patient)] == [
        world.order.pk]


@pytest.mark.usefixtures("front_office")
def test_it_moves_requests_on_merge(world):
    twin = make_patient(world.lab_a, world.frontdesk, birth_name="Kergoet")
    assert services.move_orders(world.lab_a, world.patient, twin) == 1
    assert Order.objects.get(pk=world.order.pk).patient_id == twin.pk


@pytest.mark.usefixtures("front_office")
def test_it_creates_demo_requests_in_bulk(world):
    people = [make_patient(world.lab_a, world.frontdesk, birth_name=f"Demo{n}")
              for n in ("Alpha", "Beta", "Gamma")]
    made = synthetic_requests.create_demo_orders(world.lab_a, people, seed=3, per_patient=2)
    assert len(made) == 6
    numbers = [o.number for o in Order.objects.for_lab(world.lab_a)]
    assert len(numbers) == len(set(numbers)) == 7
    for order in made:
        fresh = Order.objects.get(pk=order.pk)
        assert services.read_order(world.lab_a, world.frontdesk, fresh).prescriber_name
        assert fresh.specimens.count() >= 1
    again = synthetic_requests.create_demo_orders(world.lab_a, people, seed=3, per_patient=2)
    assert [o.urgent for o in again] == [o.urgent for o in made]


# --- committed data: concurrency and the raw database -------------------------------

@pytest.mark.django_db(transaction=True)
def test_it_never_repeats_a_number_under_concurrency():
    world = build_world()
    patient = make_patient(world.lab_a, world.frontdesk)
    numbers, failures = [], []

    def worker():
        try:
            for _ in range(5):
                numbers.append(make_order(world.lab_a, world.frontdesk, patient,
                                          tests=["1104"]).number)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(numbers) == 20
    assert len(set(numbers)) == 20


@pytest.mark.django_db(transaction=True)
def test_it_never_writes_sealed_fields_in_clear():
    world = build_world()
    patient = make_patient(world.lab_a, world.frontdesk)
    secrets = {"prescriber_name": "Dr Quelennec-Tanguy", "clinical_info": "Sous fluindione",
               "notes": "Séropositivité connue", "anticoagulant": "Previscan 20 mg"}
    order = make_order(world.lab_a, world.frontdesk, patient, tests=["0127"],
                       prescriber_name=secrets["prescriber_name"],
                       clinical_info=secrets["clinical_info"], notes=secrets["notes"],
                       answers={"anticoagulant": secrets["anticoagulant"]})
    services.cancel(world.lab_a, world.frontdesk, order, "Annulée par le Dr Quelennec")
    needles = [*secrets.values(), "Annulée par le Dr Quelennec", "fluindione", "Previscan"]
    assert find_leaks(raw_database_bytes(), needles) == []
