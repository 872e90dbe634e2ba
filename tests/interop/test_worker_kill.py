"""kill -9 of `etanche worker` while it waits for an ACK: nothing lost, nothing acknowledged
sent twice (the next worker sends the same control id again, once)."""

import os
import signal
import subprocess
import tempfile
import time

import pytest

from etanche.interop import services as interop
from etanche.interop.models import MessageStatus, OutboxMessage
from tests.cli_helpers import ETANCHE
from tests.exports.helpers import child_env
from tests.interop.peer import Peer, free_port, running_peer
from tests.orders.helpers import make_order, make_patient
from tests.personas import build_world

ENV = {"ETANCHE_INTEROP_BACKOFF_SECONDS": "0", "ETANCHE_INTEROP_TIMEOUT_SECONDS": "30",
       "ETANCHE_WORKER_POLL_SECONDS": "1"}


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_waiting_for_an_ack_loses_nothing_and_repeats_nothing():
    world = build_world()
    port = free_port()
    interop.add_destination("lis-a", lab=world.lab_a, host="127.0.0.1", port=port)
    patient = make_patient(world.lab_a, world.frontdesk)
    make_order(world.lab_a, world.frontdesk, patient)
    make_order(world.lab_a, world.frontdesk, patient)
    controls = list(OutboxMessage.objects.order_by("created_at")
                    .values_list("control_id", flat=True))
    peer = Peer(mode="silent")  # reads the message, never answers: the worker waits
    with running_peer(peer, port), tempfile.TemporaryFile() as log:
        first = subprocess.Popen([ETANCHE, "worker"], env=child_env(**ENV),
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            assert peer.got_one.wait(60), "the worker sent nothing"
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        assert [r.control_id for r in peer.received] == controls[:1]
        assert set(OutboxMessage.objects.values_list("status", flat=True)) == {
            MessageStatus.PENDING}

        peer.mode = "AA"
        second = subprocess.run([ETANCHE, "worker", "--batch"], env=child_env(**ENV),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                timeout=120, check=False)
        log.seek(0)
        output = log.read().decode(errors="replace")
    assert second.returncode == 0, output[-2000:]
    deadline = time.monotonic() + 10
    while len(peer.acknowledged) < len(controls) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert peer.acknowledged == controls  # in order, each acknowledged once
    assert [r.control_id for r in peer.received] == [controls[0], *controls]  # same id again
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert not peer.invalid
    # The log names ids and types, never a segment or a name.
    assert "PID|" not in output and "Kergoat" not in output
