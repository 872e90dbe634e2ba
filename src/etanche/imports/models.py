"""What an import took in: one row per imported record, found again by a keyed digest.

`ImportedRecord.digest` is a keyed digest (vault, a key derived for the lab) of
the previous software's id, or of the identity traits when the source has no
id: a re-run finds the rows it already took in without a table of ids in clear.
The id itself is sealed, kept for traceability. A likely duplicate imported as a
separate record carries `review` and the rule that matched, for identity review.
"""

from django.db import models

from etanche.labs.models import LabQuerySet
from etanche.lib.personal_data import Protection as P
from etanche.vault.sealed import SealedModel


class Kind(models.TextChoices):
    PATIENT = "patient", "patient"
    REQUEST = "request", "demande"


class ImportedRecord(SealedModel):
    # Sealed (schema 1): {"source_id": the previous software's id, "number": its request
    # number (requests), "row": the row number in the file}.
    BOUND_FIELDS = ("kind", "target_id")

    # No database constraint: checking it locked the lab row that every writer shares, for
    # each imported row; the lab is bound into the sealed token instead (ADR 0007). No index
    # of its own: both below lead with lab.
    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+",
                            db_index=False, db_constraint=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    digest = models.CharField(max_length=64)
    target_id = models.BigIntegerField()  # the patient's or the request's id
    review = models.BooleanField(default=False)
    review_rule = models.CharField(max_length=20, blank=True)
    review_of = models.BigIntegerField(null=True, blank=True)  # the existing patient's id
    file_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE, "kind": P.NONE,
        # A keyed digest (a key of the lab's): a pseudonym of the source id, not the id.
        "digest": P.PSEUDONYMOUS, "target_id": P.PSEUDONYMOUS,
        "review": P.PSEUDONYMOUS, "review_rule": P.PSEUDONYMOUS, "review_of": P.PSEUDONYMOUS,
        "file_sha256": P.PSEUDONYMOUS, "created_at": P.PSEUDONYMOUS,
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lab", "kind", "digest"], name="imports_once")
        ]
        indexes = [models.Index(fields=["lab", "kind", "target_id"], name="imports_target")]


class JobStatus(models.TextChoices):
    UPLOADED = "uploaded", "reçu, en lecture"
    PROPOSED = "proposed", "correspondance à confirmer"
    RUNNING = "running", "import en cours"
    DONE = "done", "terminé"
    FAILED = "failed", "échoué"
    ABANDONED = "abandoned", "abandonné"


class ImportJob(SealedModel):
    """A file uploaded on the web page, kept encrypted until its import ends (or 24 h).

    Sealed (schema 1): {"identity": the upload's age private key, "mapping": the
    proposed or confirmed columns, "preview": the first rows masked (initials, last
    digits), "facts": format and encoding}. Destroying the file and this key ends it.
    In clear: the report (row numbers, fields, rules and French reasons: no identity)."""

    BOUND_FIELDS = ("kind",)

    kind = models.CharField(max_length=10)  # "patients" | "requests"
    status = models.CharField(max_length=10, choices=JobStatus.choices,
                              default=JobStatus.UPLOADED)
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=64, blank=True)  # random, under imports_dir()
    size = models.BigIntegerField(default=0)
    file_sha256 = models.CharField(max_length=64, blank=True)
    dry_run = models.BooleanField(default=False)
    accept_valid = models.BooleanField(default=False)
    progress = models.IntegerField(default=0)  # rows read or written so far
    stage = models.CharField(max_length=10, blank=True)  # "check" | "write"
    report = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=300, blank=True)  # a French sentence, no identity
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE, "kind": P.NONE, "status": P.NONE, "requested_by": P.PSEUDONYMOUS,
        "file_name": P.NONE, "size": P.NONE, "file_sha256": P.PSEUDONYMOUS, "dry_run": P.NONE,
        "accept_valid": P.NONE, "progress": P.NONE, "stage": P.NONE,
        "report": P.PSEUDONYMOUS, "error": P.NONE, "created_at": P.PSEUDONYMOUS,
        "updated_at": P.PSEUDONYMOUS,
    }
