"""Canaries: synthetic patients that no real workflow touches, registered sealed.

A canary is not a Patient row: it never shows in search, lists or counts.
Its identity (and the request it carries in an export) is sealed; the blind
indexes beside it are those of the patients app, so a leak scan that indexes
a leaked row can find the canary without unsealing every patient, and its
`export_id` names the export the leaked file came from.
"""

from django.db import models

from etanche.labs.models import LabQuerySet
from etanche.lib.personal_data import Protection as P
from etanche.vault.sealed import SealedModel

# The patients app's index names (vault/indexes.py), one column each.
CANARY_INDEXES = ("nir", "birth_name_dob", "phonetic_dob", "email", "phone")


class Canary(SealedModel):
    EXPORT = "export"
    LAB = "lab"
    KINDS = [(EXPORT, "export"), (LAB, "lab")]
    # What names the leaked export: bound to the envelope (vault/sealed.py).
    BOUND_FIELDS = ("kind", "export_id", "marker", "request_number")

    kind = models.CharField(max_length=8, choices=KINDS)
    # No foreign key: the canary outlives the export row's purge and must still name it.
    export_id = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Research exports carry no identity: their canary is found by its pseudonym.
    marker = models.CharField(max_length=40, blank=True, db_index=True)
    request_number = models.CharField(max_length=16, blank=True, db_index=True)
    nir_index = models.IntegerField(null=True)
    birth_name_dob_index = models.IntegerField(null=True)
    phonetic_dob_index = models.IntegerField(null=True)
    email_index = models.IntegerField(null=True)
    phone_index = models.IntegerField(null=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        # Synthetic people: sealed all the same, so a canary looks like a patient at rest too.
        "id": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE,
        "kind": P.NONE, "export_id": P.PSEUDONYMOUS, "created_at": P.PSEUDONYMOUS,
        "marker": P.PSEUDONYMOUS, "request_number": P.PSEUDONYMOUS,
        **{f"{name}_index": P.BLIND_INDEX for name in CANARY_INDEXES},
    }

    class Meta:
        indexes = [models.Index(fields=["lab", f"{name}_index"], name=f"canary_{name}")
                   for name in CANARY_INDEXES]

    def __str__(self):
        return f"canary #{self.pk} ({self.kind} {self.export_id or ''})".strip()
