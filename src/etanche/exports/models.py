"""An export request and the life of its file.

Status machine: requested -> approved -> produced -> downloaded | expired | purged,
or requested -> refused (or expired, if nobody decided in time). The file
itself is ciphertext under $ETANCHE_DATA_DIR/exports/; this row keeps its
checksum and history. What is personal stays sealed: the list of selected
patients, the refusal reason (free text), the research pseudonym salt.
"""

from datetime import datetime, time

from django.conf import settings
from django.db import models
from django.utils import timezone

from etanche.labs.models import LabQuerySet
from etanche.lib.personal_data import Protection as P
from etanche.vault.sealed import SealedModel

# The journal's object type of an export's entries (their object id is the export's).
OBJECT_TYPE = "export"


class Status(models.TextChoices):
    REQUESTED = "requested", "en attente d'approbation"
    REFUSED = "refused", "refusé"
    APPROVED = "approved", "approuvé, fichier en préparation"
    PRODUCED = "produced", "disponible"
    DOWNLOADED = "downloaded", "téléchargé, fichier détruit"
    EXPIRED = "expired", "expiré, fichier détruit"
    PURGED = "purged", "purgé, fichier détruit"


FINAL = (Status.REFUSED, Status.DOWNLOADED, Status.EXPIRED, Status.PURGED)


class Selection(models.TextChoices):
    ALL = "all", "tous les patients"
    LIST = "list", "une liste de patients"
    PERIOD = "period", "les patients d'une période"


class ExportQuerySet(LabQuerySet):
    def locked(self, export) -> "Export":
        """The row again, locked for update until the caller's transaction ends."""
        return self.select_for_update().get(pk=getattr(export, "pk", export))


class Export(SealedModel):
    # Sealed dict: {"patient_ids": [int], "refusal_reason": str, "pseudonym_salt": hex | None}
    # What is exported, to whom, and who asked and decided: bound to the envelope, so that
    # none of it can be rewritten in the database (vault/sealed.py).
    BOUND_FIELDS = ("profile", "format", "selection", "since", "recipient", "downloads_allowed",
                    "downloads_shared", "status", "requested_by_id", "first_approved_by_id",
                    "decided_by_id")
    profile = models.CharField(max_length=20)
    format = models.CharField(max_length=8)
    selection = models.CharField(max_length=8, choices=Selection.choices)
    since = models.DateField(null=True, blank=True)
    recipient = models.CharField(max_length=100)
    expires_at = models.DateTimeField()
    downloads_allowed = models.PositiveSmallIntegerField(default=1)
    downloads_done = models.PositiveSmallIntegerField(default=0)
    # Downloads belong to the requester; others with the permission only if they allowed it.
    downloads_shared = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    # A large export needs two approvers: the first is kept here while the request waits for
    # the second, who is `decided_by` (exports.services.approvals).
    first_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    first_approved_at = models.DateTimeField(null=True, blank=True)
    produced_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Production by the worker: total is set when it starts (None: still queued), done grows
    # per batch; error names the exception class of a failed run (never its message).
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    production_error = models.CharField(max_length=100, blank=True)

    objects = ExportQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE,
        "profile": P.NONE, "format": P.NONE, "selection": P.NONE, "since": P.PSEUDONYMOUS,
        "recipient": P.NONE, "expires_at": P.NONE, "downloads_allowed": P.NONE,
        "downloads_done": P.NONE, "downloads_shared": P.NONE, "status": P.NONE,
        "requested_by": P.STAFF_CLEAR,
        "requested_at": P.STAFF_CLEAR, "decided_by": P.STAFF_CLEAR,
        "decided_at": P.STAFF_CLEAR, "first_approved_by": P.STAFF_CLEAR,
        "first_approved_at": P.STAFF_CLEAR, "produced_at": P.NONE, "rows": P.NONE, "size": P.NONE,
        "sha256": P.NONE, "ended_at": P.NONE, "progress_total": P.NONE,
        "progress_done": P.NONE, "production_error": P.NONE,
    }

    class Meta:
        indexes = [models.Index(fields=["lab", "requested_at"], name="exports_lab_time"),
                   models.Index(fields=["status", "expires_at"], name="exports_due")]

    def __str__(self):
        return f"export #{self.pk}"

    @property
    def file_name(self) -> str:
        return f"export-{self.pk}.{'ndjson' if self.format == 'ndjson' else 'csv'}.age"

    @property
    def downloads_left(self) -> int:
        return max(0, self.downloads_allowed - self.downloads_done)

    @property
    def since_datetime(self):
        if self.since is None:
            return None
        return timezone.make_aware(datetime.combine(self.since, time.min))

    @property
    def reference(self) -> str:
        """A short reference for people: the last six digits of the random id (issue 24, 14)."""
        return f"E-{str(self.pk)[-6:]}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @property
    def is_queued(self) -> bool:
        return self.status == Status.APPROVED and self.progress_total is None

    @property
    def is_producing(self) -> bool:
        return self.status == Status.APPROVED and self.progress_total is not None
