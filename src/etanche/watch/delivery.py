"""Sending alerts: the outbox (watch.models.Delivery) drained by the worker's watch round.

    delivery.send_due()     # every due delivery: email, syslog (RFC 5424), webhook
    delivery.message(alert) # what every channel carries: ids, rule, counts, a link

Never in a web request, so a target that is down never slows the application. A
delivery is claimed by pushing its next attempt past the send's timeout (a lease:
two workers do not send it at once, a worker that dies leaves it due again), then
sent, then marked sent, or given its error and a next attempt doubling from 5 s up
to ETANCHE_ALERT_RETRY_MAX_SECONDS: it is retried until it goes through, and its
error shows on the DPO's alert page and in `etanche alerts list`.

A message carries the alert's id, the lab's slug, the rule and its French title,
the severity, the account id of the staff member concerned, counts, times and a
link to the alert's page: never a patient's identity, health data or a name.
"""

import json
import socket
import ssl
import urllib.request
from datetime import timedelta
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone

from etanche.vault.mac import hmac_sha256
from etanche.watch import config, rules
from etanche.watch.models import Alert, Delivery

FIRST_RETRY_SECONDS = 5
BATCH = 50
SIGNATURE_HEADER = "X-Etanche-Signature"
TIMESTAMP_HEADER = "X-Etanche-Timestamp"
SYSLOG_FACILITY = 10  # security/authorization messages (RFC 5424, table 1)
SYSLOG_SEVERITY = {"critical": 2, "high": 3, "warning": 4, "info": 6}
SD_ID = "etanche@32473"  # 32473: the private enterprise number reserved for examples


class DeliveryFailed(Exception):
    """A target refused or could not be reached; the message names the target, no data."""


def link(alert: Alert) -> str:
    # A test alert has no page of its own: its link is the list.
    return f"{settings.ETANCHE_PUBLIC_URL}/alertes/{'' if alert.test else f'{alert.pk}/'}"


def message(alert: Alert) -> dict:
    rule = rules.get(alert.rule)
    return {"alert": alert.pk, "lab": alert.lab.slug, "rule": alert.rule, "title": rule.title,
            "severity": alert.severity, "user": alert.user_id, "count": alert.count,
            "first_seen": alert.first_seen.isoformat(), "last_seen": alert.last_seen.isoformat(),
            "state": alert.state, "test": alert.test, "link": link(alert)}


# --- channels ----------------------------------------------------------------------------

def _email(target: str, body: dict) -> None:
    subject = (f"[Étanche {body['lab']}] {body['severity']} : {body['title']} "
               f"(alerte {body['alert']})")
    text = "\n".join([
        f"Règle : {body['rule']} — {body['title']}",
        f"Gravité : {body['severity']}",
        f"Compte concerné : {body['user'] if body['user'] is not None else '—'}",
        f"Occurrences : {body['count']}",
        f"Première : {body['first_seen']}", f"Dernière : {body['last_seen']}",
        f"Voir l'alerte : {body['link']}",
        "", "Ce message ne contient aucune donnée de patient ; ouvrez le lien pour instruire."])
    EmailMessage(subject, text, to=[target],
                 headers={"Message-ID": make_msgid(domain="etanche")}).send()


def _sd_value(value) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_line(body: dict) -> bytes:
    """One RFC 5424 message: PRI, version, time, host, app, procid, msgid, SD, MSG."""
    pri = SYSLOG_FACILITY * 8 + SYSLOG_SEVERITY.get(body["severity"], 5)
    fields = ("alert", "lab", "rule", "severity", "user", "count", "first_seen", "last_seen",
              "test", "link")
    sd = "[" + SD_ID + "".join(f' {k}="{_sd_value(body[k])}"' for k in fields) + "]"
    stamp = timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = (socket.gethostname() or "-")[:255].replace(" ", "-")
    text = f"alert {body['alert']} {body['rule']} count={body['count']} {body['link']}"
    return f"<{pri}>1 {stamp} {host} etanche - ALERT {sd} ".encode() + b"\xef\xbb\xbf" + \
        text.encode("utf-8")


def _syslog(target: str, body: dict) -> None:
    parts = urlsplit(target)
    line = syslog_line(body)
    timeout = settings.ETANCHE_ALERT_TIMEOUT_SECONDS
    if parts.scheme == "udp":
        family = socket.AF_INET6 if ":" in (parts.hostname or "") else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.sendto(line, (parts.hostname, parts.port))
        return
    # TCP and TLS: octet-counting framing (RFC 6587 3.4.1, RFC 5425 4.3).
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as raw:
        if parts.scheme == "tls":
            context = ssl.create_default_context(
                cafile=settings.ETANCHE_ALERT_SYSLOG_CA or None)
            with context.wrap_socket(raw, server_hostname=parts.hostname) as sock:
                sock.sendall(f"{len(line)} ".encode() + line)
        else:
            raw.sendall(f"{len(line)} ".encode() + line)


def sign(secret: str, timestamp: str, payload: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>" (a replayed old body fails a timestamp check)."""
    return "sha256=" + hmac_sha256(secret.encode(), timestamp.encode() + b"." + payload).hex()


def _webhook(target: str, body: dict) -> None:
    parts = urlsplit(target)
    if parts.scheme != "https" and not (parts.scheme == "http"
                                        and config.is_loopback(parts.hostname or "")):
        raise DeliveryFailed("webhook: plain http only to a loopback address")
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(timezone.now().timestamp()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
               "User-Agent": "etanche-alerts"}
    if settings.ETANCHE_ALERT_WEBHOOK_SECRET:
        headers[SIGNATURE_HEADER] = sign(settings.ETANCHE_ALERT_WEBHOOK_SECRET, timestamp,
                                         payload)
    request = urllib.request.Request(target, data=payload, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=settings.ETANCHE_ALERT_TIMEOUT_SECONDS) as r:  # noqa: S310
        if not 200 <= r.status < 300:
            raise DeliveryFailed(f"webhook answered {r.status}")


CHANNELS = {"email": _email, "syslog": _syslog, "webhook": _webhook}


# --- the outbox --------------------------------------------------------------------------

def _claim(limit: int) -> list[int]:
    now = timezone.now()
    lease = now + timedelta(seconds=3 * settings.ETANCHE_ALERT_TIMEOUT_SECONDS + 5)
    with transaction.atomic():
        due = Delivery.objects.filter(state=Delivery.PENDING, next_attempt_at__lte=now)
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        ids = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=lease)
    return ids


def _error_text(exc: BaseException) -> str:
    # Exception texts here come from sockets, SMTP and HTTP: about the target, never data.
    return f"{type(exc).__name__}: {exc}"[:200]


def send_one(item: Delivery) -> bool:
    try:
        CHANNELS[item.channel](item.target, message(item.alert))
    except Exception as exc:  # noqa: BLE001  any failure of a target is retried, never raised
        item.attempts += 1
        wait = min(FIRST_RETRY_SECONDS * 2 ** (item.attempts - 1),
                   settings.ETANCHE_ALERT_RETRY_MAX_SECONDS)
        item.next_attempt_at = timezone.now() + timedelta(seconds=wait)
        item.last_error = _error_text(exc)
        item.save(update_fields=["attempts", "next_attempt_at", "last_error"])
        return False
    item.attempts += 1
    item.state = Delivery.SENT
    item.sent_at = timezone.now()
    item.save(update_fields=["attempts", "state", "sent_at"])
    return True


def send_due(limit: int = BATCH) -> int:
    """Send what is due; the number of attempts made (sent or not)."""
    ids = _claim(limit)
    for item in Delivery.objects.filter(pk__in=ids).select_related("alert__lab").order_by("pk"):
        send_one(item)
    return len(ids)


def failing(lab) -> list[Delivery]:
    """The lab's deliveries not sent yet after at least one attempt (shown to the DPO)."""
    return list(Delivery.objects.for_lab(lab).filter(state=Delivery.PENDING, attempts__gt=0)
                .order_by("next_attempt_at"))
