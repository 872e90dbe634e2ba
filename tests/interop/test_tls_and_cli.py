"""TLS with a test certificate authority (made with the openssl command line), and the CLI."""

import io
import shutil
import ssl
import subprocess

import pytest
from django.core.management import CommandError, call_command

from etanche.interop import sender
from etanche.interop import services as interop
from etanche.interop.models import Destination, MessageStatus, OutboxMessage
from tests.interop.peer import running_peer
from tests.orders.helpers import make_order, make_patient

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="needs openssl")


def _openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def _authority(folder, name):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN={name}", cwd=folder)
    return folder / f"{name}.pem"


def _issue(folder, ca, name, extensions):
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=folder)
    (folder / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
             cwd=folder)
    return folder / f"{name}.pem", folder / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca = _authority(folder, "ca")
    other = _authority(folder, "other")
    server = _issue(folder, "ca", "server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    client = _issue(folder, "ca", "client", "extendedKeyUsage=clientAuth\n")
    return {"ca": ca, "other": other, "server": server, "client": client}


def _server_context(pki, *, require_client: bool):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*pki["server"])
    if require_client:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki["ca"])
    return context


def _order(world):
    patient = make_patient(world.lab_a, world.frontdesk)
    return make_order(world.lab_a, world.frontdesk, patient)


def test_tls_with_a_client_certificate_delivers(world, peer, port, pki):
    interop.add_destination("lis-tls", lab=world.lab_a, host="127.0.0.1", port=port,
                            tls_ca=str(pki["ca"]), tls_cert=str(pki["client"][0]),
                            tls_key=str(pki["client"][1]))
    _order(world)
    with running_peer(peer, port, context=_server_context(pki, require_client=True)):
        while sender.send_round():
            pass
    assert not peer.invalid and len(peer.received) == 2
    assert {m.status for m in OutboxMessage.objects.all()} == {MessageStatus.SENT}


@pytest.mark.parametrize("case", ["unknown authority", "no client certificate"])
def test_tls_refusals_keep_the_messages_waiting(world, peer, port, pki, case):
    ca = pki["other"] if case == "unknown authority" else pki["ca"]
    interop.add_destination("lis-tls", lab=world.lab_a, host="127.0.0.1", port=port,
                            tls_ca=str(ca))
    _order(world)
    context = _server_context(pki, require_client=case == "no client certificate")
    with running_peer(peer, port, context=context):
        sender.send_round()
    assert not peer.received
    rows = OutboxMessage.objects.all()
    assert {m.status for m in rows} == {MessageStatus.PENDING}
    if case == "unknown authority":  # refused by us before anything left: no attempt spent
        assert {m.attempts for m in rows} == {0}
    # (Under TLS 1.3 a server refuses a missing client certificate after the handshake
    # has ended on our side: the first message's send fails, one attempt.)


def _run(*args) -> str:
    out = io.StringIO()
    call_command("interop", *args, stdout=out)
    return out.getvalue()


def test_destinations_add_list_test_remove(world, peer, port, pki):
    out = _run("destinations", "add", "lis-cli", "--lab", world.lab_a.slug, "--host",
               "127.0.0.1", "--port", str(port), "--messages", "orders", "--facility", "PLT")
    assert "lis-cli" in out and "loopback" in out
    assert Destination.objects.get(name="lis-cli").messages == "orders"
    assert "lis-cli\tlab-a\t127.0.0.1:" in _run("destinations", "list")
    with pytest.raises(CommandError, match="lis-cli"):
        _run("destinations", "test", "lis-cli")  # nobody listens
    with running_peer(peer, port):
        assert "connexion établie" in _run("destinations", "test", "lis-cli")
    _order(world)
    with pytest.raises(CommandError, match="non envoyé"):
        _run("destinations", "remove", "lis-cli")
    assert "1 unsent" in _run("destinations", "remove", "lis-cli", "--drop-unsent")
    assert not Destination.objects.exists()


def test_tls_destination_test_names_the_protocol(world, peer, port, pki):
    _run("destinations", "add", "lis-tls", "--lab", world.lab_a.slug, "--host", "127.0.0.1",
         "--port", str(port), "--tls-ca", str(pki["ca"]))
    with running_peer(peer, port, context=_server_context(pki, require_client=False)):
        assert "TLS" in _run("destinations", "test", "lis-tls")


@pytest.mark.parametrize(("args", "message"), [
    (["--host", "192.0.2.7", "--port", "2575"], "TLS"),
    (["--host", "127.0.0.1", "--port", "0"], "port"),
    (["--host", "127.0.0.1", "--port", "2575", "--messages", "results"], "messages"),
    (["--host", "127.0.0.1", "--port", "2575", "--tls-cert", "/nonexistent"], "vont ensemble"),
    (["--host", "127.0.0.1", "--port", "2575", "--tls-ca", "/nonexistent"], "introuvable"),
])
def test_bad_destinations_are_refused_in_one_line(world, args, message):
    with pytest.raises(CommandError, match=message):
        _run("destinations", "add", "lis-bad", "--lab", world.lab_a.slug, *args)
    assert not Destination.objects.exists()


def test_outbox_list_retry_drop(world, destination, peer, port):
    peer.mode = "AE"
    _order(world)
    with running_peer(peer, port):
        sender.send_round()
    parked = OutboxMessage.objects.get(status=MessageStatus.PARKED)
    listing = _run("outbox", "list", "--parked")
    assert parked.control_id in listing and "AE" in listing and "PID" not in listing
    assert "queued again" in _run("outbox", "retry", parked.control_id)
    assert OutboxMessage.objects.get(pk=parked.pk).status == MessageStatus.PENDING
    assert "dropped" in _run("outbox", "drop", str(parked.pk))
    with pytest.raises(CommandError, match="introuvable"):
        _run("outbox", "drop", parked.control_id)
