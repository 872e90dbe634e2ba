"""The worker round against a real MLLP receiver (tests/interop/peer.py, not our code)."""

import json

import pytest

from etanche.interop import sender
from etanche.interop import services as interop
from etanche.interop.models import FillerStatus, MessageStatus, OutboxMessage, RequestProgress
from etanche.journal.models import Action, Entry
from tests.interop.peer import running_peer
from tests.orders.helpers import make_order, make_patient


def _rows():
    return list(OutboxMessage.objects.order_by("created_at"))


def _drain(rounds: int = 10) -> int:
    total = 0
    for _ in range(rounds):
        done = sender.send_round()
        total += done
        if not done:
            break
    return total


@pytest.fixture
def order(world, destination):
    patient = make_patient(world.lab_a, world.frontdesk)
    return make_order(world.lab_a, world.frontdesk, patient)


def test_an_acknowledged_message_is_sent_once_and_journaled(world, order, peer, port):
    with running_peer(peer, port):
        assert _drain() >= 2  # the A28, then the OML^O21
        assert _drain() == 0
    assert not peer.invalid
    assert [r.message_type for r in peer.received] == ["ADT^A28", "OML^O21"]
    rows = _rows()
    assert [r.status for r in rows] == [MessageStatus.SENT] * 2
    assert [r.control_id for r in rows] == [r.control_id for r in peer.received]
    sent = Entry.objects.filter(action=Action.INTEROP_SEND).order_by("seq")
    assert [e.object_id for e in sent] == [str(order.patient_id)] * 2
    detail = json.loads(sent.last().detail)
    assert (detail["control_id"], detail["order"]) == (rows[1].control_id, order.pk)


def test_ae_parks_at_once_and_holds_the_patients_next_messages(world, order, peer, port):
    peer.mode = "AE"
    with running_peer(peer, port):
        _drain()
    first, second = _rows()
    assert first.status == MessageStatus.PARKED and "AE" in first.last_error
    assert "101" in first.last_error and "PID" not in first.last_error
    assert second.status == MessageStatus.PENDING and second.attempts == 0
    assert len(peer.received) == 1  # the OML waits behind the parked A28


def test_ar_is_retried_then_parked(world, order, peer, port, settings):
    peer.mode = "AR"
    with running_peer(peer, port):
        for _ in range(settings.ETANCHE_INTEROP_MAX_ATTEMPTS + 2):
            sender.send_round()
    first = _rows()[0]
    assert first.status == MessageStatus.PARKED
    assert first.attempts == settings.ETANCHE_INTEROP_MAX_ATTEMPTS
    assert {r.control_id for r in peer.received} == {first.control_id}  # same id each time


def test_no_answer_and_a_malformed_ack_are_failed_attempts(world, order, peer, port, settings):
    settings.ETANCHE_INTEROP_TIMEOUT_SECONDS = 1
    for mode in ("silent", "malformed"):
        peer.mode = mode
        with running_peer(peer, port):
            sender.send_round()
        first = _rows()[0]
        assert first.status == MessageStatus.PENDING and first.last_error
        OutboxMessage.objects.update(attempts=0)
    peer.mode = "AA"
    with running_peer(peer, port):
        _drain()
    assert {r.status for r in _rows()} == {MessageStatus.SENT}


def test_receiver_down_then_up_delivers_everything_in_order_once(world, destination, peer,
                                                                  port):
    patient = make_patient(world.lab_a, world.frontdesk)
    other = make_patient(world.lab_a, world.frontdesk, birth_name="Le Goff")
    for who in (patient, other, patient):
        make_order(world.lab_a, world.frontdesk, who)
    assert _drain() == 0  # nobody listens
    rows = _rows()
    assert {r.status for r in rows} == {MessageStatus.PENDING}
    assert {r.attempts for r in rows} == {0}  # an unreachable receiver costs no attempt
    with running_peer(peer, port):
        sender.close_links()  # skip the link's back-off: the receiver is back
        _drain()
    assert [r.control_id for r in peer.received] == [r.control_id for r in rows]
    assert len(set(peer.acknowledged)) == len(peer.acknowledged) == len(rows)
    assert not peer.invalid


def test_receiver_restart_mid_stream_loses_nothing(world, destination, peer, port):
    patient = make_patient(world.lab_a, world.frontdesk)
    with running_peer(peer, port):
        _drain()
    make_order(world.lab_a, world.frontdesk, patient)
    make_order(world.lab_a, world.frontdesk, patient)
    with running_peer(peer, port):  # a new receiver process: the old connection is dead
        _drain()
        sender.close_links()
        _drain()
    controls = [r.control_id for r in _rows()]
    assert [r.control_id for r in peer.received] == controls
    assert {r.status for r in _rows()} == {MessageStatus.SENT}


def test_an_orl_o22_moves_the_request_to_results_available(world, order, peer, port):
    peer.mode = "orl-results"
    with running_peer(peer, port):
        _drain()
    progress = RequestProgress.objects.get(order_ref=order.pk)
    assert progress.status == FillerStatus.RESULTS
    assert Entry.objects.filter(action=Action.INTEROP_STATUS).count() == 1


def test_a_parked_message_resent_by_the_lab_admin_arrives(world, order, peer, port):
    peer.mode = "AE"
    with running_peer(peer, port):
        _drain()
        first = _rows()[0]
        assert first.status == MessageStatus.PARKED
        peer.mode = "AA"
        interop.retry(world.lab_a, world.labadmin, first.pk)
        _drain()
    assert {r.status for r in _rows()} == {MessageStatus.SENT}
    assert [r.control_id for r in peer.received].count(first.control_id) == 2


def test_sent_messages_are_purged_after_retention(world, order, peer, port, settings):
    with running_peer(peer, port):
        _drain()
    settings.ETANCHE_INTEROP_RETENTION_DAYS = 0
    assert sender.purge_sent() == 2
    assert not _rows()


def test_a_message_failing_the_2_5_validation_is_parked_never_sent(world, destination, peer,
                                                                    port, monkeypatch):
    from etanche.interop import outbox

    real = outbox.hl7.Person.from_envelope

    def bad_birth_date(patient_id, env):
        return real(patient_id, {**env, "birth_date": "19AB-03-02"})

    monkeypatch.setattr(outbox.hl7.Person, "from_envelope", staticmethod(bad_birth_date))
    make_patient(world.lab_a, world.frontdesk)
    with running_peer(peer, port):
        _drain()
    (row,) = _rows()
    assert row.status == MessageStatus.PARKED and not peer.received
    assert row.last_error == "message invalide : segment PID invalid: ValueError"
