"""Real delivery targets on loopback: an SMTP server (aiosmtpd), UDP and TCP syslog
listeners, an HTTP server that checks the webhook's signature as a receiver would."""

import contextlib
import hashlib
import hmac
import http.server
import json
import socket
import socketserver
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests.servers import free_port

SECRET = "webhook-secret-for-tests"  # noqa: S105


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content,
                                                                    policy=policy.default)))
        return "250 OK"


@contextlib.contextmanager
def smtp_server():
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class _Threaded(socketserver.ThreadingMixIn):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def syslog_udp():
    received = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            received.append(self.request[0])

    server = type("UDP", (_Threaded, socketserver.UDPServer), {})(("127.0.0.1", 0), Handler)
    yield from _serving(server, received)


def _read_framed(stream) -> list[bytes]:
    """RFC 6587 octet counting: "LEN SP MSG"..."""
    out = []
    while True:
        digits = b""
        while (c := stream.read(1)) not in (b" ", b""):
            digits += c
        if not digits:
            return out
        out.append(stream.read(int(digits)))


@contextlib.contextmanager
def syslog_tcp(port: int = 0):
    received = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            received.extend(_read_framed(self.rfile))

    server = type("TCP", (_Threaded, socketserver.TCPServer), {})(("127.0.0.1", port), Handler)
    yield from _serving(server, received)


def _serving(server, received):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def verified(headers, body: bytes) -> bool:
    """What a receiver does: recompute HMAC-SHA256 over "<timestamp>.<body>"."""
    stamp = headers.get("X-Etanche-Timestamp", "")
    want = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body,
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, headers.get("X-Etanche-Signature", ""))


@contextlib.contextmanager
def webhook_server(port: int = 0):
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = verified(self.headers, body)
            if ok:
                received.append(json.loads(body))
            self.send_response(204 if ok else 401)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = type("HTTP", (_Threaded, http.server.HTTPServer), {})(("127.0.0.1", port), Handler)
    yield from _serving(server, received)


def closed_port() -> int:
    """A loopback port nobody listens on (a target down)."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
