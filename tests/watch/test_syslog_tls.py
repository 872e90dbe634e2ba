"""Syslog over TLS (RFC 5425) to a collector whose certificate a test authority signed."""

import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from etanche.watch import alerts, delivery
from etanche.watch.models import Delivery
from tests.watch.targets import _read_framed

OPENSSL = shutil.which("openssl")
pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(OPENSSL is None, reason="needs openssl")]


def _openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=ca", cwd=folder)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=server",
             cwd=folder)
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
             cwd=folder)
    return folder


def _collector(pki, received):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        raw, _ = listener.accept()
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                received.extend(_read_framed(conn.makefile("rb")))
        except ssl.SSLError:
            raw.close()  # the client refused our certificate: what one test wants

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def _settings(settings, port):
    settings.ETANCHE_ALERT_EMAIL_TO, settings.ETANCHE_ALERT_WEBHOOK = [], ""
    settings.ETANCHE_ALERT_SYSLOG = f"tls://127.0.0.1:{port}"


def test_tls_syslog_to_a_collector_of_the_configured_authority(world, settings, pki):
    received = []
    listener, thread = _collector(pki, received)
    _settings(settings, listener.getsockname()[1])
    settings.ETANCHE_ALERT_SYSLOG_CA = str(pki / "ca.pem")
    alert = alerts.send_test(world.lab_a)
    delivery.send_due()
    thread.join(10)
    listener.close()
    assert Delivery.objects.get().state == Delivery.SENT
    assert f'alert="{alert.pk}"'.encode() in received[0]


def test_an_unknown_authority_keeps_the_alert_waiting(world, settings, pki):
    listener, thread = _collector(pki, [])
    _settings(settings, listener.getsockname()[1])
    settings.ETANCHE_ALERT_SYSLOG_CA = ""  # the system's authorities do not know this one
    alerts.send_test(world.lab_a)
    delivery.send_due()
    listener.close()
    item = Delivery.objects.get()
    assert item.state == Delivery.PENDING and "SSL" in item.last_error
