"""Patients: one sealed envelope per record, blind-index integers for search.

Everything identifying (INS traits, INS number, identity status and its
document check, contact, coverage, physician, blood group, notes) lives in
`sealed` (see services.ENVELOPE_FIELDS). In clear: a random id, the lab,
timestamps, the id a merged record redirects to, and blind indexes, which are
truncated keyed hashes that a few records share by design, sized per lab
(vault/indexes.py).

The identity status is sealed too: in clear it would be a per-patient fact
("this person showed an identity card") that nothing operational needs.
"""

from django.db import models

from etanche.labs.models import LabQuerySet
from etanche.lib.personal_data import Protection as P
from etanche.vault.sealed import SealedModel

# Blind indexes held as columns on Patient: one value per record.
COLUMN_INDEXES = ("nir", "ins", "birth_name_dob", "used_name_dob", "phonetic_dob", "email")


class PatientQuerySet(LabQuerySet):
    def live(self):
        """Records that were not merged into another one."""
        return self.filter(merged_into__isnull=True)


class Patient(SealedModel):
    # A merge written in the database would hide or revive a record: bound (vault/sealed.py).
    BOUND_FIELDS = ("merged_into_id",)

    # Every index below leads with lab: one of its own would only cost registrations a write.
    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+",
                            db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # A merged record stays, pointing at the survivor, so its old id still leads somewhere.
    # Indexed only where set (see Meta): new records, all unmerged, cost it nothing.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_records",
        db_index=False,
    )
    nir_index = models.IntegerField(null=True)
    ins_index = models.IntegerField(null=True)
    birth_name_dob_index = models.IntegerField(null=True)
    used_name_dob_index = models.IntegerField(null=True)
    phonetic_dob_index = models.IntegerField(null=True)
    email_index = models.IntegerField(null=True)
    # Read by patient id only (watch's neighbour rule), never looked up by value: no index.
    address_index = models.IntegerField(null=True)

    objects = PatientQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.PSEUDONYMOUS,
        "lab": P.PSEUDONYMOUS,
        "sealed": P.SEALED,
        "key_version": P.NONE,
        "revision": P.NONE,
        "created_at": P.PSEUDONYMOUS,
        "updated_at": P.PSEUDONYMOUS,
        "merged_into": P.PSEUDONYMOUS,
        **{f"{name}_index": P.BLIND_INDEX for name in COLUMN_INDEXES},
        "address_index": P.BLIND_INDEX,
    }

    class Meta:
        indexes = [
            *(models.Index(fields=["lab", f"{name}_index"], name=f"patient_{name}")
              for name in COLUMN_INDEXES),
            models.Index(fields=["merged_into"], name="patient_merged_into",
                         condition=models.Q(merged_into__isnull=False)),
        ]

    def __str__(self):
        return f"patient #{self.pk}"


class PatientIndex(models.Model):
    """Blind indexes with several values per patient: surnames (birth, used) and phones."""

    SURNAME = "surname"
    PHONE = "phone"
    NAMES = [(SURNAME, SURNAME), (PHONE, PHONE)]

    id = models.BigAutoField(primary_key=True)
    # No index of their own: the lookup index leads with lab, the uniqueness with patient
    # (each index costs every registration a write, bench/RESULTS.md).
    # `lab` copies the patient's, whose own foreign key already holds the lab; no database
    # constraint of its own: checking it locked the lab row that every writer shares (ADR 0007).
    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+",
                            db_index=False, db_constraint=False)
    name = models.CharField(max_length=16, choices=NAMES)
    value = models.IntegerField()
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="index_values",
                                db_index=False)

    PERSONAL_DATA = {
        "id": P.NONE,
        "lab": P.PSEUDONYMOUS,
        "name": P.NONE,
        "value": P.BLIND_INDEX,
        "patient": P.PSEUDONYMOUS,
    }

    class Meta:
        indexes = [models.Index(fields=["lab", "name", "value"], name="patient_index_lookup")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "name", "value"], name="patient_index_once"
            )
        ]

    def __str__(self):
        return f"{self.name} index of patient #{self.patient_id}"


class PatientVersion(SealedModel):
    """A previous state of a record, kept sealed: a correction, a merge or its undoing.

    Sealed: the whole envelope as it was before the change (`previous`), the fields
    the change touched and the reason given. In clear: whose record, what kind of
    change, the other record of a merge, when and by whom (ids only).
    A merge's version is what an un-merge restores; `undone_at` marks it spent.
    """

    CORRECTION, MERGE, UNMERGE = "correction", "merge", "unmerge"
    KINDS = [(CORRECTION, "correction"), (MERGE, "fusion"), (UNMERGE, "annulation de fusion")]

    # Whose previous state this is, and which merge: bound to the envelope.
    BOUND_FIELDS = ("patient_id", "kind", "other_id")

    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+",
                            db_index=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="versions")
    kind = models.CharField(max_length=12, choices=KINDS)
    # The other record of a merge (the one merged into `patient`); CASCADE: retention
    # deletes both records of a merge together.
    other = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", db_index=False)
    undone_at = models.DateTimeField(null=True, blank=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.PSEUDONYMOUS,
        "lab": P.PSEUDONYMOUS,
        "sealed": P.SEALED,
        "key_version": P.NONE,
        "revision": P.NONE,
        "patient": P.PSEUDONYMOUS,
        "kind": P.PSEUDONYMOUS,
        "other": P.PSEUDONYMOUS,
        "created_at": P.PSEUDONYMOUS,
        "created_by": P.PSEUDONYMOUS,
        "undone_at": P.PSEUDONYMOUS,
    }

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.kind} of patient #{self.patient_id}"


class RetentionPolicy(models.Model):
    """A lab's retention of patient records and their requests (docs/retention.md).

    Without a row, the defaults of patients/retention.py apply. The journal's own
    retention is separate (journal/retention).
    """

    lab = models.OneToOneField("labs.Lab", on_delete=models.CASCADE, related_name="+")
    # Years after the record's last activity (its last change, its last request's).
    record_years = models.PositiveSmallIntegerField()
    # A person's record is kept at least until this birthday (a minor's record).
    minor_until_age = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    PERSONAL_DATA = {"id": P.NONE, "lab": P.PSEUDONYMOUS, "record_years": P.NONE,
                     "minor_until_age": P.NONE, "updated_at": P.NONE}

    def __str__(self):
        return f"retention of lab #{self.lab_id}"
