"""End to end through the web stack: what the front office does reaches the LIS as HL7."""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.interop import sender
from etanche.interop.models import MessageStatus, OutboxMessage
from etanche.orders.models import Order
from tests.interop.peer import running_peer
from tests.orders.helpers import BASE, make_patient
from tests.personas import sign_in


def _client(user, sudo=False):
    return sign_in(Client(), user, sudo=sudo)


def _deliver(peer, port):
    with running_peer(peer, port):
        while sender.send_round():
            pass
    assert not peer.invalid
    return peer.received


@pytest.fixture
def patient(world, destination, peer, port):
    made = make_patient(world.lab_a, world.frontdesk)
    _deliver(peer, port)  # its A28
    peer.received.clear()
    return made


def test_a_request_entered_in_the_web_ui_arrives_as_a_valid_oml_o21(world, patient, peer, port):
    url = reverse("order_create", kwargs={"patient_id": patient.pk})
    response = _client(world.frontdesk).post(url, {
        "tests": "1104 1208", "prescriber_name": "Dr Le Bras", "prescription_date": "2026-01-05",
        "q_anticoagulant": "aucun", "clinical_info": "", "notes": ""})
    assert response.status_code == 302
    order = Order.objects.for_lab(world.lab_a).get(patient=patient)
    (received,) = _deliver(peer, port)
    assert received.message_type == "OML^O21"
    assert f"ORC|NW|{order.number}^ETANCHE" in received.er7
    assert f"PID|1||{patient.pk}^^^ETANCHE^PI" in received.er7


def test_a_correction_in_the_web_ui_arrives_as_an_a31(world, patient, peer, port):
    url = reverse("patient_correct", kwargs={"pk": patient.pk})
    form = {**BASE, "birth_name": "Kergoat-Le Gall", "first_names": "Maëlle Anne",
            "reason": "Nom composé oublié"}
    assert _client(world.frontdesk).post(url, form).status_code == 302
    (received,) = _deliver(peer, port)
    assert received.message_type == "ADT^A31"
    assert "KERGOAT-LE GALL" in received.er7.upper()


def test_a_merge_in_the_web_ui_arrives_as_an_a40(world, patient, peer, port):
    other = make_patient(world.lab_a, world.frontdesk, birth_name="Quergoat")
    _deliver(peer, port)
    peer.received.clear()
    url = reverse("patient_merge", kwargs={"pk": patient.pk})
    response = _client(world.biologist).post(url, {"other": other.pk, "confirm": "1",
                                                   "reason": "Doublon"})
    assert response.status_code == 302
    received = _deliver(peer, port)
    merges = [r for r in received if r.message_type == "ADT^A40"]
    assert len(merges) == 1 and f"MRG|{other.pk}^^^ETANCHE^PI" in merges[0].er7


def test_the_outbox_page_shows_a_parked_message_and_resends_it(world, patient, peer, port):
    peer.mode = "AE"
    make_patient(world.lab_a, world.frontdesk, birth_name="Le Goff")
    _deliver(peer, port)
    parked = OutboxMessage.objects.get(status=MessageStatus.PARKED)
    client = _client(world.labadmin)
    page = client.get(reverse("interop_outbox")).content.decode()
    assert parked.control_id in page and "Renvoyer" in page and "AE" in page
    assert "Le Goff" not in page and "PID" not in page
    peer.mode = "AA"
    response = client.post(reverse("interop_outbox"), {"action": "retry",
                                                       "message": parked.pk})
    assert response.status_code == 302
    _deliver(peer, port)
    assert OutboxMessage.objects.get(pk=parked.pk).status == MessageStatus.SENT
    assert "Aucun message bloqué" in client.get(reverse("interop_outbox")).content.decode()


def test_the_outbox_page_shows_nothing_of_another_lab(world, patient, peer, port):
    peer.mode = "AE"
    make_patient(world.lab_a, world.frontdesk, birth_name="Le Goff")
    _deliver(peer, port)
    parked = OutboxMessage.objects.get(status=MessageStatus.PARKED)
    other = _client(world.outsider_admin)
    assert parked.control_id not in other.get(reverse("interop_outbox")).content.decode()
    other.post(reverse("interop_outbox"), {"action": "drop", "message": parked.pk})
    assert OutboxMessage.objects.filter(pk=parked.pk).exists()


def test_the_request_page_shows_results_available_from_the_lis(world, patient, peer, port):
    from tests.orders.helpers import make_order

    order = make_order(world.lab_a, world.frontdesk, patient)
    client = _client(world.frontdesk)
    page = client.get(reverse("order_detail", kwargs={"pk": order.pk})).content.decode()
    assert "Plateau :" not in page
    peer.mode = "orl-results"
    _deliver(peer, port)
    page = client.get(reverse("order_detail", kwargs={"pk": order.pk})).content.decode()
    assert "Plateau : Résultats disponibles" in page
