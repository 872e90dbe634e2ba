"""MLLP over TCP, with TLS for anything but loopback (server certificate verified).

One Link per destination, kept open between messages; a failure closes it and the
next open waits a back-off. Errors name the destination and the kind of failure,
never a message's content.
"""

import ipaddress
import socket
import ssl
import time

from django.conf import settings

START, END = b"\x0b", b"\x1c\x0d"
MAX_ANSWER = 1 << 20  # an acknowledgement is small: a peer sending more is broken


class TransportError(Exception):
    """The destination could not be reached or broke the exchange; text is French, no data."""


class Unreachable(TransportError):
    """No connection: the message did not leave (it costs it no attempt)."""


class _Closed(TransportError):
    """The receiver closed the connection before answering."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(host: str, tls_ca: str) -> None:
    """Plain TCP only to a loopback address: the LIS on the same machine."""
    if not tls_ca and not is_loopback(host):
        raise Unreachable("TCP sans TLS refusé hors de l'adresse de bouclage "
                             "(indiquez --tls-ca)")


def frame(payload: str) -> bytes:
    return START + payload.encode("utf-8") + END


def backoff_seconds(failures: int) -> float:
    base = settings.ETANCHE_INTEROP_BACKOFF_SECONDS
    return min(base * 2 ** max(failures - 1, 0), settings.ETANCHE_INTEROP_BACKOFF_MAX_SECONDS)


class Link:
    """The connection to one destination."""

    def __init__(self, destination):
        self.destination = destination
        self.key = self.fingerprint(destination)
        self.sock = None
        self.failures = 0
        self.retry_at = 0.0

    @staticmethod
    def fingerprint(d) -> tuple:
        return (d.host, d.port, d.tls_ca, d.tls_cert, d.tls_key)

    @property
    def waiting(self) -> bool:
        return self.sock is None and time.monotonic() < self.retry_at

    def open(self) -> None:
        d = self.destination
        check_transport(d.host, d.tls_ca)
        timeout = settings.ETANCHE_INTEROP_TIMEOUT_SECONDS
        try:
            raw = socket.create_connection((d.host, d.port), timeout=timeout)
        except OSError as exc:
            self._failed()
            raise Unreachable(f"connexion impossible ({type(exc).__name__})") from None
        if d.tls_ca:
            try:
                context = ssl.create_default_context(cafile=d.tls_ca)
                if d.tls_cert:
                    context.load_cert_chain(d.tls_cert, d.tls_key or None)
                raw = context.wrap_socket(raw, server_hostname=d.host)
            except (OSError, ssl.SSLError) as exc:
                raw.close()
                self._failed()
                reason = getattr(exc, "reason", None) or type(exc).__name__
                raise Unreachable(f"échec TLS ({reason})") from None
        raw.settimeout(timeout)
        self.sock = raw

    def _failed(self) -> None:
        self.failures += 1
        self.retry_at = time.monotonic() + backoff_seconds(self.failures)

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def exchange(self, payload: str) -> str:
        """Send one framed message, return the framed answer's text.

        A connection kept from earlier that turns out closed (the receiver restarted)
        is opened again and the message sent once more at once: the closed one
        answered nothing, so nothing was acknowledged.
        """
        reused = self.sock is not None
        if not reused:
            self.open()
        try:
            try:
                self.sock.sendall(frame(payload))
                answer = self._read_frame()
            except (_Closed, ConnectionError):
                if not reused:
                    raise
                self.close()
                self.open()
                self.sock.sendall(frame(payload))
                answer = self._read_frame()
        except (OSError, TransportError) as exc:
            self.close()
            self._failed()
            if isinstance(exc, TransportError):
                raise
            if isinstance(exc, TimeoutError | socket.timeout):
                raise TransportError("pas de réponse (délai dépassé)") from None
            raise TransportError(f"connexion interrompue ({type(exc).__name__})") from None
        self.failures = 0
        return answer

    def _read_frame(self) -> str:
        data = b""
        while END not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise _Closed("connexion fermée par le destinataire sans réponse")
            data += chunk
            if len(data) > MAX_ANSWER:
                raise TransportError("réponse trop longue")
        body, _, rest = data.partition(END)
        if rest or not body.startswith(START):
            # Bytes outside one frame: the stream is out of step, start a new one.
            raise TransportError("trame MLLP invalide")
        return body[len(START):].decode("utf-8", errors="replace")
