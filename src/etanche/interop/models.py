"""Destinations (a lab's analytical LIS, reached over MLLP) and the sealed outbox.

A message is written to the outbox, sealed, in the transaction of the change that
causes it (interop/outbox.py), one row per destination taking that kind of message;
the worker sends them (interop/sender.py). In clear: ids, the message type, the
control id, where the row stands; the message itself (identity, tests, clinical
information) only in `sealed`.
"""

from django.db import models

from etanche.labs.models import LabQuerySet
from etanche.lib.personal_data import Protection as P
from etanche.vault.sealed import SealedModel

ORDERS = "orders"
PATIENTS = "patients"
KINDS = (ORDERS, PATIENTS)


class Destination(models.Model):
    """A receiving application of a lab: host and port, TLS files, what it takes."""

    lab = models.ForeignKey("labs.Lab", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=40, unique=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField()
    # Paths of PEM files on the server (the key stays a file the operator protects).
    tls_ca = models.CharField(max_length=500, blank=True)
    tls_cert = models.CharField(max_length=500, blank=True)
    tls_key = models.CharField(max_length=500, blank=True)
    # Space-separated KINDS.
    messages = models.CharField(max_length=40, default=f"{ORDERS} {PATIENTS}")
    facility = models.CharField(max_length=40, blank=True)  # MSH-6, the receiving facility
    clinical_info = models.BooleanField(default=False)  # OBR-13 sent only when allowed
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.NONE, "lab": P.NONE, "name": P.NONE, "host": P.NONE, "port": P.NONE,
        "tls_ca": P.NONE, "tls_cert": P.NONE, "tls_key": P.NONE, "messages": P.NONE,
        "facility": P.NONE, "clinical_info": P.NONE, "created_at": P.NONE,
    }

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def takes(self, kind: str) -> bool:
        return self.kind_in(kind, self.messages)

    @staticmethod
    def kind_in(kind: str, messages: str) -> bool:
        return kind in messages.split()

    @property
    def uses_tls(self) -> bool:
        return bool(self.tls_ca)


class MessageStatus(models.TextChoices):
    PENDING = "pending", "En attente"
    SENT = "sent", "Envoyé"
    PARKED = "parked", "Bloqué"


class OutboxMessage(SealedModel):
    """One HL7 message for one destination; sealed: {"er7": the message}."""

    SEALED_KEYS = ("er7",)
    # Who and where the message is for: a row moved to another destination or patient,
    # or given another control id, no longer opens (vault/sealed.py).
    BOUND_FIELDS = ("destination_id", "patient_ref", "control_id", "message_type")

    destination = models.ForeignKey(Destination, on_delete=models.PROTECT, related_name="+")
    patient_ref = models.BigIntegerField()  # the patient's random id (no FK: kept if purged)
    order_ref = models.BigIntegerField(null=True, blank=True)
    message_type = models.CharField(max_length=16)  # "OML^O21", "ADT^A31"...
    event = models.CharField(max_length=8)  # NW, CA, XO, A28, A31, A40
    control_id = models.CharField(max_length=20, unique=True)  # MSH-10, never changes
    status = models.CharField(max_length=8, choices=MessageStatus.choices,
                              default=MessageStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=200, blank=True)  # codes and ids, never segments
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.NONE, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE, "destination": P.NONE, "patient_ref": P.PSEUDONYMOUS,
        "order_ref": P.PSEUDONYMOUS, "message_type": P.PSEUDONYMOUS, "event": P.PSEUDONYMOUS,
        "control_id": P.PSEUDONYMOUS, "status": P.NONE, "attempts": P.NONE,
        "next_attempt_at": P.NONE, "last_error": P.NONE, "created_at": P.PSEUDONYMOUS,
        "sent_at": P.PSEUDONYMOUS,
    }

    class Meta:
        indexes = [models.Index(fields=["destination", "status", "created_at"],
                                name="interop_outbox_queue")]

    def __str__(self):
        return f"{self.message_type} {self.control_id}"


class FillerStatus(models.TextChoices):
    ACCEPTED = "accepted", "Acceptée par le plateau"
    IN_PROGRESS = "in_progress", "En cours d'analyse"
    RESULTS = "results", "Résultats disponibles"


class RequestProgress(models.Model):
    """Where the analytical LIS says a request stands (ORL^O22, OML status updates)."""

    lab = models.ForeignKey("labs.Lab", on_delete=models.CASCADE, related_name="+")
    order_ref = models.BigIntegerField(unique=True)
    status = models.CharField(max_length=12, choices=FillerStatus.choices)
    updated_at = models.DateTimeField()
    control_id = models.CharField(max_length=40, blank=True)  # the filler's MSH-10

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.NONE, "lab": P.PSEUDONYMOUS, "order_ref": P.PSEUDONYMOUS,
        "status": P.PSEUDONYMOUS, "updated_at": P.PSEUDONYMOUS, "control_id": P.NONE,
    }

    def __str__(self):
        return f"request {self.order_ref}: {self.status}"
