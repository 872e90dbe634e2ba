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
        "revision": P.NONE, "kind": P.NONE, "digest": P.HASHED, "target_id": P.PSEUDONYMOUS,
        "review": P.PSEUDONYMOUS, "review_rule": P.PSEUDONYMOUS, "review_of": P.PSEUDONYMOUS,
        "file_sha256": P.HASHED, "created_at": P.PSEUDONYMOUS,
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lab", "kind", "digest"], name="imports_once")
        ]
        indexes = [models.Index(fields=["lab", "kind", "target_id"], name="imports_target")]
