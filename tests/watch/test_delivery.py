"""Alerts reach a real SMTP server, UDP and TCP syslog and a webhook whose signature the
receiver checks; a target down loses nothing and blocks nothing; messages hold no
personal data."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from etanche.watch import alerts, delivery
from etanche.watch.models import Delivery
from tests.watch.helpers import alerts_of, drain, reads
from tests.watch.targets import (
    SECRET,
    closed_port,
    smtp_server,
    syslog_tcp,
    syslog_udp,
    webhook_server,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def targets(settings):
    with smtp_server() as (inbox, smtp_port), syslog_udp() as (udp, udp_port), \
            syslog_tcp() as (tcp, tcp_port), webhook_server() as (hooks, hook_port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.ETANCHE_ALERT_EMAIL_TO = ["dpo@lab-a.example.invalid"]
        settings.ETANCHE_ALERT_SYSLOG = f"udp://127.0.0.1:{udp_port}"
        settings.ETANCHE_ALERT_WEBHOOK = f"http://127.0.0.1:{hook_port}/alertes"
        settings.ETANCHE_ALERT_WEBHOOK_SECRET = SECRET
        yield {"inbox": inbox, "udp": udp, "tcp": tcp, "tcp_port": tcp_port, "hooks": hooks}


def _wait(predicate, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_bulk_read_alert_reaches_every_target(world, targets):
    reads(world.lab_a, world.frontdesk, range(5000, 5060))
    drain()
    assert delivery.send_due() == 3
    (alert,) = alerts_of(world.lab_a, "bulk-reads")
    [(to, mail)] = targets["inbox"].messages
    assert to == ["dpo@lab-a.example.invalid"]
    assert f"alerte {alert.pk}" in mail["Subject"] and "bulk-reads" in mail.get_content()
    assert _wait(lambda: targets["udp"])
    line = targets["udp"][0]
    assert line.startswith(b"<")  # PRI
    assert f'alert="{alert.pk}"'.encode() in line and b'rule="bulk-reads"' in line
    assert line.split(b" ")[0].endswith(b">1")  # PRI then the RFC 5424 version
    [hook] = targets["hooks"]
    assert hook["alert"] == alert.pk and hook["count"] == 60 and hook["lab"] == "lab-a"
    assert hook["link"].endswith(f"/alertes/{alert.pk}/")
    assert Delivery.objects.filter(state=Delivery.SENT).count() == 3


def test_tcp_syslog_with_octet_counting(world, targets, settings):
    settings.ETANCHE_ALERT_EMAIL_TO, settings.ETANCHE_ALERT_WEBHOOK = [], ""
    settings.ETANCHE_ALERT_SYSLOG = f"tcp://127.0.0.1:{targets['tcp_port']}"
    alert = alerts.send_test(world.lab_a)
    assert delivery.send_due() == 1
    assert _wait(lambda: targets["tcp"])
    assert f'alert="{alert.pk}"'.encode() in targets["tcp"][0]


def test_a_wrong_signature_is_refused_by_the_receiver_and_retried(world, targets, settings):
    settings.ETANCHE_ALERT_EMAIL_TO, settings.ETANCHE_ALERT_SYSLOG = [], ""
    settings.ETANCHE_ALERT_WEBHOOK_SECRET = "not-the-receivers"  # noqa: S105
    alerts.send_test(world.lab_a)
    delivery.send_due()
    (item,) = Delivery.objects.all()
    assert item.state == Delivery.PENDING and "401" in item.last_error
    assert targets["hooks"] == []


def test_a_target_down_then_up_loses_nothing(world, settings):
    port = closed_port()
    settings.ETANCHE_ALERT_EMAIL_TO = []
    settings.ETANCHE_ALERT_SYSLOG = f"tcp://127.0.0.1:{port}"
    settings.ETANCHE_ALERT_WEBHOOK = f"http://127.0.0.1:{port}/"
    settings.ETANCHE_ALERT_WEBHOOK_SECRET = SECRET
    first = alerts.send_test(world.lab_a)
    second = alerts.send_test(world.lab_a)
    started = time.monotonic()
    assert delivery.send_due() == 4
    assert time.monotonic() - started < 5  # refused at once: nothing waits on a dead target
    pending = Delivery.objects.filter(state=Delivery.PENDING)
    assert pending.count() == 4 and all(d.attempts == 1 and d.last_error for d in pending)
    assert delivery.send_due() == 0  # backed off: not due yet
    assert {d.alert_id for d in delivery.failing(world.lab_a)} == {first.pk, second.pk}
    # Up again, on the same port: the retries go through once due.
    with syslog_tcp(port) as (tcp, _):
        settings.ETANCHE_ALERT_WEBHOOK = ""
        Delivery.objects.filter(channel="webhook").delete()
        Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert delivery.send_due() == 2
        assert _wait(lambda: len(tcp) == 2)
    assert sorted(int(x.split(b'alert="')[1].split(b'"')[0]) for x in tcp) == sorted(
        [first.pk, second.pk])
    assert Delivery.objects.filter(state=Delivery.SENT).count() == 2
    backoff = [delivery.FIRST_RETRY_SECONDS * 2 ** n for n in range(3)]
    assert backoff == [5, 10, 20]


def test_a_delivery_that_fails_backs_off_doubling(world, settings):
    settings.ETANCHE_ALERT_EMAIL_TO, settings.ETANCHE_ALERT_WEBHOOK = [], ""
    settings.ETANCHE_ALERT_SYSLOG = f"tcp://127.0.0.1:{closed_port()}"
    alerts.send_test(world.lab_a)
    waits = []
    for _ in range(3):
        Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        before = timezone.now()
        delivery.send_due()
        item = Delivery.objects.get()
        waits.append(round((item.next_attempt_at - before).total_seconds()))
    assert waits == [5, 10, 20]


def test_plain_http_webhooks_only_to_loopback(world, settings):
    settings.ETANCHE_ALERT_EMAIL_TO, settings.ETANCHE_ALERT_SYSLOG = [], ""
    settings.ETANCHE_ALERT_WEBHOOK = "http://192.0.2.7/alertes"
    alerts.send_test(world.lab_a)
    delivery.send_due()
    assert "loopback" in Delivery.objects.get().last_error
