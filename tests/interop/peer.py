"""A real MLLP receiver for the tests, written here without any of Étanche's code.

It reads MLLP frames over TCP (or TLS), parses every message with hl7apy and
validates it against the HL7 v2.5 structure of its type, then answers as told:
AA, AE, AR, nothing (silent), a malformed ACK, or an ORL^O22 with a status.
hl7apy's grouping of a parsed OML^O21 is greedy (a second ORC reads as a prior
result), so OML^O21 is regrouped here by the standard's rule, one ORDER group per
ORC, then validated with hl7apy's validator like the others.
"""

import contextlib
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.parser import parse_message, parse_segment

START, END = b"\x0b", b"\x1c\x0d"
STRICT = VALIDATION_LEVEL.STRICT


def _seg(text):
    return parse_segment(text, version="2.5", validation_level=STRICT)


def validate_oml(segments: list[str]) -> Message:
    message = Message("OML_O21", version="2.5", validation_level=STRICT)
    message.msh = _seg(segments[0])
    order = observation = patient = None
    for text in segments[1:]:
        name = text[:3]
        if name == "PID":
            patient = message.add_group("OML_O21_PATIENT")
            patient.add(_seg(text))
        elif name == "PV1":
            patient.add_group("OML_O21_PATIENT_VISIT").add(_seg(text))
        elif name == "ORC":
            order, observation = message.add_group("OML_O21_ORDER"), None
            order.add(_seg(text))
        elif name == "TQ1":
            order.add_group("OML_O21_TIIMING").add(_seg(text))
        elif name == "OBR":
            observation = order.add_group("OML_O21_OBSERVATION_REQUEST")
            observation.add(_seg(text))
        elif name == "SPM":
            observation.add_group("OML_O21_SPECIMEN").add(_seg(text))
        else:
            raise AssertionError(f"unexpected segment {name} in OML^O21")
    message.validate()
    return message


def validate(er7: str) -> Message:
    """Parse and validate against 2.5; raises if the message is not valid."""
    segments = [s for s in er7.split("\r") if s]
    if "|OML^O21" in segments[0]:
        return validate_oml(segments)
    message = parse_message(er7, validation_level=STRICT, find_groups=True)
    message.validate()
    return message


@dataclass
class Received:
    control_id: str
    message_type: str
    er7: str
    answered: str = ""


@dataclass
class Peer:
    """What the receiver got and how it answers; `mode` may change during a test."""

    mode: str = "AA"  # AA, AE, AR, silent, malformed, orl-results
    received: list[Received] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    got_one: threading.Event = field(default_factory=threading.Event)

    def answer(self, er7: str) -> bytes | None:
        try:
            message = validate(er7)
        except Exception as exc:  # noqa: BLE001  any failure means not valid 2.5
            self.invalid.append(type(exc).__name__)
            return None
        control = message.msh.msh_10.to_er7()
        kind = message.msh.msh_9.to_er7()
        entry = Received(control, "^".join(kind.split("^")[:2]), er7)
        self.received.append(entry)
        self.got_one.set()
        mode = self.mode
        if mode == "orl-results" and entry.message_type != "OML^O21":
            mode = "AA"  # only an order gets an order response
        entry.answered = mode
        header = f"MSH|^~\\&|LIS|LAB|ETANCHE|LAB|20260101120000||{{}}|L{control}|P|2.5"
        if mode == "silent":
            return None
        if mode == "malformed":
            return b"MSH|^~\\&|garbage\rMSA"
        if mode == "orl-results":
            number = message.children[2].children[0].orc_2.orc_2_1.to_er7()
            self.acknowledged.append(control)
            text = "\r".join([header.format("ORL^O22^ORL_O22"), f"MSA|AA|{control}",
                              f"ORC|OK|{number}^ETANCHE|||CM"])
            return text.encode()
        if mode == "AA":
            self.acknowledged.append(control)
        text = header.format("ACK^O21^ACK") + f"\rMSA|{mode}|{control}"
        if mode == "AE":
            text += "\rERR|||101^Required field missing^HL70357|E"
        return text.encode()


class _Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.server.connections.append(self.request)

    def handle(self):
        peer: Peer = self.server.peer
        data = b""
        while True:
            try:
                chunk = self.request.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            data += chunk
            while END in data:
                frame, _, data = data.partition(END)
                reply = peer.answer(frame.lstrip(START).decode("utf-8"))
                if reply is not None:
                    self.request.sendall(START + reply + END)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, peer, context):
        self.peer, self.context, self.connections = peer, context, []
        super().__init__(address, _Handler)

    def get_request(self):
        sock, address = super().get_request()
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True)
        return sock, address


@contextlib.contextmanager
def running_peer(peer: Peer, port: int = 0, *, context: ssl.SSLContext | None = None):
    server = _Server(("127.0.0.1", port), peer, context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        for sock in server.connections:  # a stopped receiver keeps no connection open
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
