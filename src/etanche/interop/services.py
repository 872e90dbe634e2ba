"""Destinations and the outbox as an operator or a lab admin sees them.

    destinations.add("lis-a", lab=lab, host="lis.lab.example", port=2575, tls_ca=path)
    services.retry(lab, user, message_id)   # a parked message goes back in the queue

Errors are InteropError with a French message; journal entries hold names and ids.
"""

import re
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from etanche.interop.models import KINDS, Destination, MessageStatus, OutboxMessage
from etanche.interop.transport import Link, TransportError, check_transport
from etanche.journal.models import Action
from etanche.journal.services import record as journal

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


class InteropError(Exception):
    """A refused operation; French, names and ids only."""


def _readable(path: str, what: str) -> str:
    if not path:
        return ""
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise InteropError(f"{what} introuvable : {file}")
    try:
        file.read_bytes()
    except OSError:
        raise InteropError(f"{what} illisible : {file}") from None
    return str(file)


def _kinds(messages) -> str:
    kinds = [k.strip() for k in (messages or ",".join(KINDS)).split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InteropError(f"--messages : {', '.join(KINDS)} (séparés par des virgules)")
    return " ".join(dict.fromkeys(kinds))


def add_destination(name, *, lab, host, port, tls_ca="", tls_cert="", tls_key="",
                    messages="", facility="", clinical_info=False, user=None) -> Destination:
    if not NAME.fullmatch(name or ""):
        raise InteropError("Nom de destination : lettres, chiffres, . _ - (40 au plus).")
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        raise InteropError("Le port doit être un entier entre 1 et 65535.")
    host = (host or "").strip()
    if not host or len(host) > 255 or any(c.isspace() for c in host):
        raise InteropError("Hôte invalide.")
    if (tls_cert or tls_key) and not (tls_cert and tls_key):
        raise InteropError("--tls-cert et --tls-key vont ensemble.")
    if tls_cert and not tls_ca:
        raise InteropError("Un certificat client suppose TLS : indiquez --tls-ca.")
    try:
        check_transport(host, tls_ca)
    except TransportError as exc:
        raise InteropError(str(exc)) from None
    if len(facility or "") > 40:
        raise InteropError("Le code d'établissement dépasse 40 caractères.")
    destination = Destination(
        lab=lab, name=name, host=host, port=port,
        tls_ca=_readable(tls_ca, "Fichier d'autorité (--tls-ca)"),
        tls_cert=_readable(tls_cert, "Certificat client (--tls-cert)"),
        tls_key=_readable(tls_key, "Clé client (--tls-key)"),
        messages=_kinds(messages), facility=facility or "", clinical_info=bool(clinical_info))
    try:
        with transaction.atomic():
            destination.save()
            journal(lab=lab, user=user, action=Action.INTEROP_DESTINATION,
                    object_type="destination", object_id=destination.pk,
                    detail={"name": name, "change": "add", "tls": bool(tls_ca),
                            "messages": destination.messages.split()})
    except IntegrityError:
        raise InteropError(f"Une destination s'appelle déjà {name}.") from None
    return destination


def get_destination(name) -> Destination:
    found = Destination.objects.select_related("lab").filter(name=name).first()
    if found is None:
        raise InteropError(f"Aucune destination {name}.")
    return found


def remove_destination(name, *, drop_unsent=False, user=None) -> int:
    """Remove it; refused while messages wait, unless `drop_unsent`. How many dropped."""
    destination = get_destination(name)
    with transaction.atomic():
        queue = OutboxMessage.objects.filter(destination=destination)
        unsent = queue.exclude(status=MessageStatus.SENT).count()
        if unsent and not drop_unsent:
            raise InteropError(f"{unsent} message(s) non envoyé(s) vers {name} : "
                               "envoyez-les ou ajoutez --drop-unsent.")
        queue.delete()
        lab = destination.lab
        pk = destination.pk
        destination.delete()
        journal(lab=lab, user=user, action=Action.INTEROP_DESTINATION,
                object_type="destination", object_id=pk,
                detail={"name": name, "change": "remove", "dropped": unsent})
    return unsent


def test_destination(name) -> str:
    """Open and close a connection (TLS handshake included); a line saying how it went."""
    destination = get_destination(name)
    link = Link(destination)
    try:
        link.open()
    except TransportError as exc:
        raise InteropError(f"{name} : {exc}") from None
    try:
        version = link.sock.version() if hasattr(link.sock, "version") else None
    finally:
        link.close()
    how = f"TLS {version}" if version else "TCP en clair (bouclage)"
    return f"{name} : connexion établie ({how}) vers {destination.host}:{destination.port}"


# --- outbox -------------------------------------------------------------------------

def outbox(lab=None, *, status=None):
    rows = OutboxMessage.objects.select_related("destination").order_by("created_at", "pk")
    if lab is not None:
        rows = rows.for_lab(lab)
    if status:
        rows = rows.filter(status=status)
    return rows


def _message(lab, ref) -> OutboxMessage:
    rows = OutboxMessage.objects.select_related("destination")
    if lab is not None:
        rows = rows.for_lab(lab)
    found = None
    if str(ref).isdigit():
        found = rows.filter(pk=int(ref)).first()
    found = found or rows.filter(control_id=str(ref)).first()
    if found is None:
        raise InteropError("Message introuvable dans la file.")
    return found


def retry(lab, user, ref) -> OutboxMessage:
    """Put a parked (or waiting) message back at the head of its patient's queue."""
    with transaction.atomic():
        message = _message(lab, ref)
        if message.status == MessageStatus.SENT:
            raise InteropError("Ce message a déjà été envoyé et acquitté.")
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
        journal(lab=message.lab, user=user, action=Action.INTEROP_OUTBOX,
                object_type="patient", object_id=message.patient_ref,
                detail={"change": "retry", "control_id": message.control_id,
                        "destination": message.destination.name})
    return message


def drop(lab, user, ref) -> OutboxMessage:
    """Delete an unsent message for good (the receiving lab will never get it)."""
    with transaction.atomic():
        message = _message(lab, ref)
        if message.status == MessageStatus.SENT:
            raise InteropError("Ce message a déjà été envoyé et acquitté.")
        message.delete()
        journal(lab=message.lab, user=user, action=Action.INTEROP_OUTBOX,
                object_type="patient", object_id=message.patient_ref,
                detail={"change": "drop", "control_id": message.control_id,
                        "destination": message.destination.name})
    return message
