"""An MLLP listener for what the analytical LIS sends on its own (status updates).

`etanche interop listen NAME --port PORT` serves the lab of destination NAME: each
message is read by `inbound.answer` (statuses applied, our ACK returned). TLS with
`--tls-cert/--tls-key` (and `--tls-client-ca` to require the LIS's certificate);
plain TCP only on a loopback address. Logs name control ids, never segments.
"""

import logging
import socketserver
import ssl

from django.db import close_old_connections

from etanche.interop import inbound
from etanche.interop.transport import END, MAX_ANSWER, START, TransportError, frame, is_loopback

log = logging.getLogger("etanche.interop")


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data = b""
        while True:
            try:
                chunk = self.request.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            data += chunk
            if len(data) > MAX_ANSWER:
                log.warning("listener: frame too long from a peer; connection closed")
                return
            while END in data:
                body, _, data = data.partition(END)
                text = body.removeprefix(START).decode("utf-8", errors="replace")
                close_old_connections()
                try:
                    reply = inbound.answer(self.server.destination, text)
                finally:
                    close_old_connections()
                self.request.sendall(frame(reply))


class Listener(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, destination, host: str, port: int, context: ssl.SSLContext | None):
        if context is None and not is_loopback(host):
            raise TransportError("écoute TCP sans TLS refusée hors de l'adresse de bouclage "
                                 "(indiquez --tls-cert et --tls-key)")
        self.destination, self.context = destination, context
        super().__init__((host, port), _Handler)

    def get_request(self):
        sock, address = super().get_request()
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True)
        return sock, address


def server_context(cert: str, key: str, client_ca: str = "") -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context
