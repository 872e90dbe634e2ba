"""Requests for analyses (orders), their tests and specimens, and each lab's test catalogue.

Operational data stay in clear and pseudonymous (docs/catalogue.md): the request
number, the patient's random id, statuses, timestamps, test codes, the urgency
flag, containers and barcodes. Everything a person said or a prescriber wrote
(prescriber, prescription date, clinical information, pre-analytical answers,
fasting, notes, cancellation reasons) is in the sealed envelope.
"""

from django.conf import settings
from django.db import models

from etanche.labs.models import LabQuerySet
from etanche.lib.personal_data import Protection as P
from etanche.orders.preanalytical import REJECT_REASONS, SPECIMEN_KINDS
from etanche.vault.sealed import SealedModel


class CatalogueTest(models.Model):
    """One test a lab can be asked for: a NABM act (seeded) or a local test."""

    NABM = "nabm"
    LOCAL = "local"
    ORIGINS = [(NABM, "NABM"), (LOCAL, "local")]

    lab = models.ForeignKey("labs.Lab", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=12)
    label = models.CharField(max_length=200)
    origin = models.CharField(max_length=8, choices=ORIGINS)
    coefficient_b = models.PositiveIntegerField(null=True, blank=True)
    specimen = models.CharField(max_length=20, choices=[(k, s.label)
                                                        for k, s in SPECIMEN_KINDS.items()])
    # Space-separated keys of preanalytical.QUESTIONS.
    questions = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.NONE, "lab": P.NONE, "code": P.NONE, "label": P.NONE, "origin": P.NONE,
        "coefficient_b": P.NONE, "specimen": P.NONE, "questions": P.NONE, "enabled": P.NONE,
        "updated_at": P.NONE,
    }

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "code"], name="orders_catalogue_code_per_lab")
        ]

    def __str__(self):
        return f"{self.code} {self.label}"

    @property
    def question_keys(self) -> list[str]:
        return self.questions.split()


class OrderCounter(models.Model):
    """Last request number given per lab and year; locked row makes numbers unique."""

    lab = models.ForeignKey("labs.Lab", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)
    # Numbers held by canaries (orders.services.canary_number): never given to a request.
    reserved = models.JSONField(default=list, blank=True)

    PERSONAL_DATA = {"id": P.NONE, "lab": P.NONE, "year": P.NONE, "last": P.NONE,
                     "reserved": P.PSEUDONYMOUS}

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lab", "year"], name="orders_counter_per_lab_year")
        ]

    def __str__(self):
        return f"{self.lab_id}/{self.year}: {self.last}"


class Status(models.TextChoices):
    REGISTERED = "registered", "Enregistrée"
    SAMPLED = "sampled", "Prélevée"
    RECEIVED = "received", "Reçue au plateau"
    CANCELLED = "cancelled", "Annulée"
    REJECTED = "rejected", "Non conforme (refusée)"


class Order(SealedModel):
    """A request for analyses (« demande »)."""

    # Layout of the sealed dict (schema version 1):
    SEALED_KEYS = ("prescriber_name", "prescriber_rpps", "prescription_date", "clinical_info",
                   "answers", "fasting", "notes", "cancel_reason", "reject_comment")
    # Whose request it is and where it stands: bound to the envelope (vault/sealed.py).
    BOUND_FIELDS = ("patient_id", "number", "status", "reject_reason")

    # The indexes below (and the number's uniqueness) lead with lab: no index of its own.
    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+",
                            db_index=False)
    number = models.CharField(max_length=16)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT,
                                related_name="orders")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REGISTERED)
    urgent = models.BooleanField(default=False)
    reject_reason = models.CharField(max_length=20, blank=True,
                                     choices=list(REJECT_REASONS.items()))
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    status_changed_at = models.DateTimeField()

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE,
        "number": P.PSEUDONYMOUS, "patient": P.PSEUDONYMOUS, "status": P.PSEUDONYMOUS,
        "urgent": P.PSEUDONYMOUS, "reject_reason": P.PSEUDONYMOUS,
        "created_at": P.PSEUDONYMOUS, "created_by": P.PSEUDONYMOUS,
        "status_changed_at": P.PSEUDONYMOUS,
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lab", "number"], name="orders_number_per_lab")
        ]
        indexes = [
            models.Index(fields=["lab", "created_at"], name="orders_lab_day"),
            models.Index(fields=["lab", "patient"], name="orders_lab_patient"),
        ]

    def __str__(self):
        return f"demande {self.number}"


class OrderTest(models.Model):
    """One requested test of an order; the code is kept even if the catalogue changes."""

    # Read through their order, whose uniqueness below leads with it: no index of their own
    # (each costs every request a write per test).
    lab = models.ForeignKey("labs.Lab", on_delete=models.CASCADE, related_name="+",
                            db_index=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tests",
                              db_index=False)
    code = models.CharField(max_length=12)
    label = models.CharField(max_length=200)
    specimen = models.CharField(max_length=20)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.NONE, "lab": P.PSEUDONYMOUS, "order": P.PSEUDONYMOUS, "code": P.PSEUDONYMOUS,
        "label": P.PSEUDONYMOUS, "specimen": P.PSEUDONYMOUS,
    }

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["order", "code"], name="orders_test_once")
        ]

    def __str__(self):
        return self.code


class Specimen(models.Model):
    """One container to draw and label; its barcode is the request number plus a rank."""

    # The barcode's uniqueness leads with lab: no index of its own.
    lab = models.ForeignKey("labs.Lab", on_delete=models.CASCADE, related_name="+",
                            db_index=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="specimens")
    barcode = models.CharField(max_length=20)
    container = models.CharField(max_length=20)
    sampled_at = models.DateTimeField(null=True, blank=True)
    # Indexed only where set (see Meta): tubes are registered before they are drawn.
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+", db_index=False)
    received_at = models.DateTimeField(null=True, blank=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.NONE, "lab": P.PSEUDONYMOUS, "order": P.PSEUDONYMOUS,
        "barcode": P.PSEUDONYMOUS, "container": P.PSEUDONYMOUS,
        "sampled_at": P.PSEUDONYMOUS, "collector": P.PSEUDONYMOUS,
        "received_at": P.PSEUDONYMOUS,
    }

    class Meta:
        ordering = ["barcode"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "barcode"], name="orders_barcode_per_lab")
        ]
        indexes = [models.Index(fields=["collector"], name="orders_specimen_collector",
                                condition=models.Q(collector__isnull=False))]

    def __str__(self):
        return self.barcode
