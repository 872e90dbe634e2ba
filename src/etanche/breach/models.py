"""A breach case (GDPR art. 33-34) and the scans that feed it, everything personal sealed.

In clear: ids, the lab, who opened the case and when, when the lab became aware (the
72-hour clock runs from there: art. 33(1)), the status, and each scan's counts (rows,
matched rows, matched patients: numbers, not people). Sealed: the affected patients' ids,
the categories found, the notes, the measures and the DPO's contact on the case; the whole
result of each scan (which row is which patient, with evidence) and the file's SHA-256
on the scan. A web upload waits for the worker's scan as a BreachScanJob (ids, status,
rows read so far; the file's SHA-256 sealed).
"""

from datetime import timedelta

from django.conf import settings
from django.db import models

from etanche.labs.models import LabQuerySet
from etanche.lib.personal_data import Protection as P
from etanche.vault.sealed import SealedModel

NOTIFY_WITHIN = timedelta(hours=72)  # GDPR art. 33(1)
OBJECT_TYPE = "breach_case"


class CaseStatus(models.TextChoices):
    OPEN = "open", "ouvert : évaluation en cours"
    NOTIFIED = "notified", "notifié à la CNIL"
    CLOSED = "closed", "clos"


class BreachCase(SealedModel):
    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    aware_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=CaseStatus.choices,
                              default=CaseStatus.OPEN)
    notified_at = models.DateTimeField(null=True, blank=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.NONE, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE, "created_at": P.NONE, "updated_at": P.NONE,
        "created_by": P.STAFF_CLEAR, "aware_at": P.NONE, "status": P.NONE,
        "notified_at": P.NONE,
    }

    class Meta:
        indexes = [models.Index(fields=["lab", "created_at"], name="breach_case_lab")]

    def __str__(self):
        return f"breach case #{self.pk}"

    @property
    def deadline(self):
        return self.aware_at + NOTIFY_WITHIN


class BreachScan(SealedModel):
    BOUND_FIELDS = ("case_id",)

    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(BreachCase, on_delete=models.PROTECT, related_name="scans")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    rows = models.PositiveIntegerField()
    matched_rows = models.PositiveIntegerField()
    matched_patients = models.PositiveIntegerField()

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.NONE, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE, "case": P.NONE, "created_at": P.NONE,
        "created_by": P.STAFF_CLEAR, "rows": P.NONE, "matched_rows": P.NONE,
        "matched_patients": P.NONE,
    }

    class Meta:
        indexes = [models.Index(fields=["case", "created_at"], name="breach_scan_case")]

    def __str__(self):
        return f"breach scan #{self.pk}"


class ScanJobStatus(models.TextChoices):
    UPLOADED = "uploaded", "reçu, en attente d'analyse"
    RUNNING = "running", "analyse en cours"
    DONE = "done", "analyse terminée"
    FAILED = "failed", "analyse impossible"


class BreachScanJob(SealedModel):
    """A leaked file uploaded on the web page, scanned by the worker (breach/work.py).

    The file is the sealed spool `spool_name` under $ETANCHE_DATA_DIR/breach/ (spool.py),
    kept until the scan ends or fails, 24 hours at most. Sealed (schema 1): {"sha256": the
    file's}. In clear: the case it feeds (chosen, or opened by the scan), the scan it
    produced, the rows read so far and a French error that quotes nothing from the file."""

    BOUND_FIELDS = ("spool_name",)

    case = models.ForeignKey(BreachCase, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    scan = models.ForeignKey(BreachScan, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    status = models.CharField(max_length=10, choices=ScanJobStatus.choices,
                              default=ScanJobStatus.UPLOADED)
    spool_name = models.CharField(max_length=32, blank=True)  # "" once the spool is deleted
    size = models.BigIntegerField(default=0)
    progress = models.BigIntegerField(default=0)  # rows read so far
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.NONE, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE, "case": P.NONE, "scan": P.NONE, "created_by": P.STAFF_CLEAR,
        "status": P.NONE, "spool_name": P.NONE, "size": P.NONE, "progress": P.NONE,
        "error": P.NONE, "created_at": P.NONE, "updated_at": P.NONE,
    }

    def __str__(self):
        return f"breach scan job #{self.pk}"
