"""The listener for the LIS's own status updates, spoken to by a plain socket client."""

import socket
import threading

import pytest

from etanche.interop import listener, progress
from etanche.interop import services as interop
from etanche.interop.models import FillerStatus
from etanche.interop.transport import TransportError
from tests.interop.peer import END, START, free_port, validate
from tests.orders.helpers import make_order, make_patient
from tests.personas import build_world


def _exchange(port: int, er7: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(START + er7.encode() + END)
        data = b""
        while END not in data:
            chunk = sock.recv(65536)
            assert chunk, "the listener closed without answering"
            data += chunk
    return data.partition(END)[0].lstrip(START).decode()


@pytest.mark.django_db(transaction=True)
def test_a_status_update_sent_by_the_lis_moves_the_request_to_results():
    world = build_world()
    destination = interop.add_destination("lis-a", lab=world.lab_a, host="127.0.0.1",
                                          port=free_port())
    patient = make_patient(world.lab_a, world.frontdesk)
    order = make_order(world.lab_a, world.frontdesk, patient)
    port = free_port()
    server = listener.Listener(destination, "127.0.0.1", port, None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        update = "\r".join([
            "MSH|^~\\&|LIS|PLATEAU|ETANCHE|LAB|20260101120000||OML^O21^OML_O21|LIS77|P|2.5",
            f"PID|1||{patient.pk}^^^ETANCHE^PI", f"ORC|SC|{order.number}^ETANCHE|||CM"])
        ack = _exchange(port, update)
        assert "MSA|AA|LIS77" in ack
        validate(ack)
        assert "MSA|AE" in _exchange(port, "MSH|^~\\&|broken")
    finally:
        server.shutdown()
        server.server_close()
    assert progress.status_of(world.lab_a, [order.pk]) == {order.pk: FillerStatus.RESULTS}


def test_plain_tcp_listening_off_loopback_is_refused():
    with pytest.raises(TransportError, match="TLS"):
        listener.Listener(None, "0.0.0.0", free_port(), None)  # noqa: S104
