"""Data-subject requests (GDPR art. 15-21): who asked what, when, how their identity
was checked, and by when the lab must answer (art. 12(3): one month).

Sealed: how the identity was checked and the DPO's notes (free text, which may name
people), the answer's summary. In clear: the patient's id (a plain id, not a foreign
key: the request is the lab's record of its duty and outlives an erased record),
the right, the dates and the status, which the deadline clock and the retention
holds need without unsealing anything.
"""

from django.db import models

from etanche.labs.models import LabQuerySet
from etanche.lib.personal_data import Protection as P
from etanche.vault.sealed import SealedModel


class Right(models.TextChoices):
    ACCESS = "access", "accès (art. 15)"
    PORTABILITY = "portability", "portabilité (art. 20)"
    RECTIFICATION = "rectification", "rectification (art. 16)"
    ERASURE = "erasure", "effacement (art. 17)"
    OBJECTION = "objection", "opposition (art. 21)"


class Status(models.TextChoices):
    OPEN = "open", "en cours"
    ANSWERED = "answered", "répondue"


class SubjectRequest(SealedModel):
    BOUND_FIELDS = ("patient_id", "right")

    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+")
    patient_id = models.BigIntegerField()
    right = models.CharField(max_length=16, choices=Right.choices)
    received_on = models.DateField()
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT,
                                   related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE, "patient_id": P.PSEUDONYMOUS, "right": P.PSEUDONYMOUS,
        "received_on": P.PSEUDONYMOUS, "due_on": P.PSEUDONYMOUS, "status": P.PSEUDONYMOUS,
        "created_at": P.PSEUDONYMOUS, "created_by": P.PSEUDONYMOUS,
        "answered_at": P.PSEUDONYMOUS, "answered_by": P.PSEUDONYMOUS,
    }

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["lab", "status"], name="rights_open")]

    def __str__(self):
        return f"subject request #{self.pk}"


class RightsSettings(models.Model):
    """Per lab: whether an access answer names the staff in full (default: role and
    initials, so the answer does not hand staff names to whoever reads it)."""

    lab = models.OneToOneField("labs.Lab", on_delete=models.CASCADE, related_name="+")
    staff_full_names = models.BooleanField(default=False)

    PERSONAL_DATA = {"id": P.NONE, "lab": P.PSEUDONYMOUS, "staff_full_names": P.NONE}

    def __str__(self):
        return f"rights settings of lab #{self.lab_id}"
