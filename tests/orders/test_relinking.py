"""Issue 16, item 9: a writable database must not re-link sealed rows unnoticed.

The attacks write the clear columns with SQL-level updates (the ORM's queryset
update, which is what `UPDATE orders_order SET patient_id=...` is), never through
the services; the reads must then refuse with TamperedData instead of showing one
person's clinical information under another person's record.
"""

import pytest
from django.test import Client

from etanche.orders import services as orders
from etanche.orders.models import Order, Status
from etanche.patients import services as patients
from etanche.patients.models import Patient
from etanche.vault.errors import TamperedData
from tests.orders.helpers import make_order, make_patient
from tests.personas import sign_in


@pytest.fixture
def two(world):
    alice = make_patient(world.lab_a, world.frontdesk, birth_name="Kerbrat")
    bruno = make_patient(world.lab_a, world.frontdesk, birth_name="Le Goff", sex="M",
                         first_names=["Bruno"], birth_date="1979-11-23")
    order = make_order(world.lab_a, world.frontdesk, alice, clinical_info="Bilan hépatique")
    return alice, bruno, order


def _fresh(order) -> Order:
    return Order.objects.get(pk=order.pk)


def test_an_order_moved_to_another_patient_is_refused(world, two):
    alice, bruno, order = two
    Order.objects.filter(pk=order.pk).update(patient_id=bruno.pk)
    with pytest.raises(TamperedData):
        _fresh(order).get_sealed()
    with pytest.raises(TamperedData):
        orders.requests_of_patients(world.lab_a, [bruno.pk], sealed=True)


def test_an_order_status_written_in_the_database_is_refused(world, two):
    _, _, order = two
    Order.objects.filter(pk=order.pk).update(status=Status.RECEIVED)
    with pytest.raises(TamperedData):
        orders.read_order(world.lab_a, world.frontdesk, _fresh(order))


def test_an_older_ciphertext_of_the_same_order_is_refused(world, two):
    _, _, order = two
    old = _fresh(order)
    orders.cancel(world.lab_a, world.frontdesk, order, "Doublon de la demande du matin")
    Order.objects.filter(pk=order.pk).update(status=Status.REGISTERED, sealed=old.sealed,
                                             key_version=old.key_version)
    with pytest.raises(TamperedData):
        _fresh(order).get_sealed()


def test_the_order_page_names_the_problem_in_french(world, two):
    _, bruno, order = two
    Order.objects.filter(pk=order.pk).update(patient_id=bruno.pk)
    client = sign_in(Client(), world.frontdesk)
    response = client.get(f"/demandes/{order.pk}/")
    assert response.status_code == 500
    assert "Un dossier chiffré est illisible" in response.content.decode()


def test_every_workflow_step_keeps_the_order_readable(world, two):
    alice, _, order = two
    orders.record_sampling(world.lab_a, world.frontdesk, order)
    orders.receive(world.lab_a, world.frontdesk, order)
    assert _fresh(order).get_sealed()["clinical_info"] == "Bilan hépatique"
    second = make_order(world.lab_a, world.frontdesk, alice)
    orders.record_sampling(world.lab_a, world.frontdesk, second)
    orders.reject(world.lab_a, world.frontdesk, second, "hemolysed", "Tube hémolysé")
    assert _fresh(second).get_sealed()["reject_comment"] == "Tube hémolysé"
    third = make_order(world.lab_a, world.frontdesk, alice)
    orders.cancel(world.lab_a, world.frontdesk, third, "Erreur de saisie")
    assert _fresh(third).get_sealed()["cancel_reason"] == "Erreur de saisie"


def test_a_merge_and_moved_orders_still_open(world, two):
    alice, bruno, order = two
    patients.merge_patients(world.lab_a, world.labadmin, bruno.pk, alice.pk)
    assert orders.move_orders(world.lab_a, alice, bruno) == 1
    moved = _fresh(order)
    assert moved.patient_id == bruno.pk
    assert moved.get_sealed()["clinical_info"] == "Bilan hépatique"
    assert Patient.objects.get(pk=alice.pk).get_sealed()["birth_name"]


def test_a_merge_written_in_the_database_is_refused(world, two):
    alice, bruno, _ = two
    Patient.objects.filter(pk=alice.pk).update(merged_into_id=bruno.pk)
    with pytest.raises(TamperedData):
        Patient.objects.get(pk=alice.pk).get_sealed()
    Patient.objects.filter(pk=alice.pk).update(merged_into_id=None)
    assert Patient.objects.get(pk=alice.pk).get_sealed()  # the row as it was: opens again
    # And the other way: a merged record put back into search.
    patients.merge_patients(world.lab_a, world.labadmin, alice.pk, bruno.pk)
    Patient.objects.filter(pk=bruno.pk).update(merged_into_id=None)
    with pytest.raises(TamperedData):
        Patient.objects.get(pk=bruno.pk).get_sealed()
