"""The worker round that sends the outbox (ops/worker.py ROUNDS).

Per destination, one connection, messages in the order they were written; a
patient whose earlier message is waiting (back-off) or parked gets nothing more
until it goes, so a receiver always sees a patient's messages in order. A message
is marked sent, and journaled, only after its ACK (AA, or CA) came back, in one
transaction: a worker killed before that sends it again with the same control id,
and nothing acknowledged is ever sent again. AR, no answer or a malformed answer
count as a failed attempt (back-off, parked after ETANCHE_INTEROP_MAX_ATTEMPTS);
AE (the receiver read it and refuses its content) parks it at once: sending it
again would not help. A destination that cannot be reached costs no attempt:
its messages wait, in order, for it to come back.

Logs and errors carry control ids, message types and destination names only.
"""

import fcntl
import logging
import os
from datetime import timedelta
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from etanche.interop import hl7, progress
from etanche.interop.models import Destination, MessageStatus, OutboxMessage
from etanche.interop.transport import Link, TransportError, Unreachable, backoff_seconds
from etanche.journal.models import Action
from etanche.journal.services import record as journal

log = logging.getLogger("etanche.interop")
BATCH = 200
ACTOR = "worker:interop"

_links: dict[int, Link] = {}


def _link(destination: Destination) -> Link:
    link = _links.get(destination.pk)
    if link is None or link.key != Link.fingerprint(destination):
        if link is not None:
            link.close()
        link = _links[destination.pk] = Link(destination)
    link.destination = destination
    return link


def close_links() -> None:
    for link in _links.values():
        link.close()
    _links.clear()


class _DestinationLock:
    """One sender per destination across the machine's workers (kernel lock, freed on death)."""

    def __init__(self, destination_id: int):
        folder = Path(settings.DATA_DIR) / "interop"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = folder / f"destination-{destination_id}.lock"
        self.fd = None

    def __enter__(self) -> bool:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def __exit__(self, *exc):
        os.close(self.fd)


def send_round() -> int:
    """Send what is due to every destination, purge what is past retention; how much."""
    done = purge_sent()
    alive = set()
    for destination in Destination.objects.select_related("lab").order_by("pk"):
        alive.add(destination.pk)
        with _DestinationLock(destination.pk) as mine:
            if mine:
                done += send_destination(destination)
    for pk in set(_links) - alive:
        _links.pop(pk).close()
    return done


def _due(destination: Destination):
    """The messages to send now, oldest first, skipping patients held by an earlier one."""
    now = timezone.now()
    rows = (OutboxMessage.objects.filter(destination=destination)
            .exclude(status=MessageStatus.SENT).order_by("created_at", "pk"))
    held = set()
    for message in rows.iterator(chunk_size=BATCH):
        if message.patient_ref in held:
            continue
        if message.status == MessageStatus.PARKED or message.next_attempt_at > now:
            held.add(message.patient_ref)
            continue
        held.add(message.patient_ref)  # one per patient per pass: the next waits for its ACK
        yield message


def send_destination(destination: Destination) -> int:
    link = _link(destination)
    if link.waiting:
        return 0
    sent = 0
    # The first BATCH only: after a long outage the queue may be long.
    for message in list(islice(_due(destination), BATCH)):
        er7 = message.get_sealed()["er7"]
        try:
            hl7.validate(er7)
        except hl7.HL7Error as exc:
            _park(message, f"message invalide : {exc}")  # never sent: it would be refused
            continue
        try:
            text = link.exchange(er7)
        except Unreachable as exc:
            log.warning("destination %s unreachable: %s", destination.name, exc)
            return sent
        except TransportError as exc:
            _failed(message, str(exc))
            return sent
        try:
            answer = hl7.read_answer(text)
        except hl7.HL7Error:
            link.close()  # whatever it sent, the stream is not to be trusted
            _failed(message, "accusé de réception illisible")
            continue
        if answer.control_id != message.control_id:
            link.close()
            _failed(message, "accusé de réception d'un autre message")
            continue
        if answer.code in hl7.ACCEPT_CODES:
            _acknowledged(destination, message, answer)
            sent += 1
        elif answer.code in hl7.ERROR_CODES:
            code = f", code {answer.error}" if answer.error else ""
            _park(message, f"refusé par le destinataire ({answer.code}{code})")
        else:
            _failed(message, f"rejeté par le destinataire ({answer.code})")
    return sent


@transaction.atomic
def _acknowledged(destination, message: OutboxMessage, answer: hl7.Answer) -> None:
    now = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, sent_at=now, last_error="", attempts=message.attempts + 1)
    if answer.updates:
        progress.apply(destination.lab, answer.updates, answer.control_id)
    journal(lab=destination.lab, user=None, actor=ACTOR, action=Action.INTEROP_SEND,
            object_type="patient", object_id=message.patient_ref,
            detail={"order": message.order_ref, "destination": destination.name,
                    "control_id": message.control_id, "type": message.message_type})
    log.info("message %s (%s) acknowledged by %s", message.control_id,
             message.message_type, destination.name)


def _failed(message: OutboxMessage, error: str) -> None:
    attempts = message.attempts + 1
    if attempts >= settings.ETANCHE_INTEROP_MAX_ATTEMPTS:
        _park(message, error, attempts=attempts)
        return
    later = timezone.now() + timedelta(seconds=backoff_seconds(attempts))
    OutboxMessage.objects.filter(pk=message.pk).update(
        attempts=attempts, next_attempt_at=later, last_error=error[:200])
    log.warning("message %s (%s): attempt %d failed: %s", message.control_id,
                message.message_type, attempts, error)


def _park(message: OutboxMessage, error: str, *, attempts: int | None = None) -> None:
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.PARKED, attempts=attempts or message.attempts + 1,
        last_error=error[:200])
    log.error("message %s (%s) parked: %s", message.control_id, message.message_type, error)


def purge_sent() -> int:
    limit = timezone.now() - timedelta(days=settings.ETANCHE_INTEROP_RETENTION_DAYS)
    deleted, _ = OutboxMessage.objects.filter(status=MessageStatus.SENT,
                                              sent_at__lt=limit).delete()
    if deleted:
        log.info("%d sent messages purged after retention", deleted)
    return deleted
