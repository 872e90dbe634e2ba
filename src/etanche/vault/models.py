"""What the vault stores: wrapped keysets, never a key in clear.

`SealedColumns` are the columns of every row holding identity or health data:
one AEAD ciphertext per row, bound to the row (lab, model, primary key, revision and
the clear columns the model names in BOUND_FIELDS). Models
subclass `etanche.vault.sealed.SealedModel`, which adds sealing to these columns;
this module stays free of the sealing code so that the keyring can import it.
"""

import secrets

from django.apps import apps
from django.db import models


class MasterKeyRecord(models.Model):
    """Which master key wraps this database's keysets: its public id and a check value.

    The check value (a constant sealed under the KEK) tells "wrong master key"
    apart from "corrupt keyset", so each gets its own message.
    """

    key_id = models.CharField(max_length=120)
    check_value = models.BinaryField()
    current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["current"], condition=models.Q(current=True), name="vault_one_current_kek"
            )
        ]

    def __str__(self):
        return self.key_id


class LabKeyset(models.Model):
    """One version of a lab's AEAD or PRF keyset, as a Tink keyset encrypted by the KEK.

    Tink's Python API has no keyset manager, so each version is its own
    single-key keyset row; the version number is what sealed values record.
    """

    AEAD = "aead"
    PRF = "prf"
    KINDS = [(AEAD, "AEAD (AES-256-GCM)"), (PRF, "PRF (HMAC-SHA256)")]
    PRIMARY = "primary"
    ACTIVE = "active"  # decrypts older values, no longer encrypts
    STATES = [(PRIMARY, "primary"), (ACTIVE, "active")]

    lab = models.ForeignKey("labs.Lab", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=KINDS)
    version = models.PositiveIntegerField()
    state = models.CharField(max_length=8, choices=STATES)
    wrapped = models.BinaryField()
    kek_id = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    # PRF rows only: the blind-index sizes fixed when the lab was provisioned
    # ({index name: bits}, vault/indexes.py), from the lab's expected patients
    # (NULL for labs provisioned before per-lab sizing, which keep 12 bits).
    expected_records = models.PositiveBigIntegerField(null=True, blank=True)
    index_bits = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lab", "kind", "version"], name="vault_keyset_version"),
            models.UniqueConstraint(
                fields=["lab", "kind"],
                condition=models.Q(state="primary"),
                name="vault_one_primary_keyset",
            ),
        ]

    def __str__(self):
        return f"{self.lab_id}:{self.kind}:v{self.version}"


class ShreddedLab(models.Model):
    """A lab whose keys were destroyed: nothing may provision new keys over its data."""

    lab = models.OneToOneField("labs.Lab", on_delete=models.CASCADE, related_name="+")
    shredded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"lab #{self.lab_id} shredded"


class RotationJob(models.Model):
    """Progress of a re-seal, committed with each batch so a killed run resumes."""

    lab = models.ForeignKey("labs.Lab", on_delete=models.CASCADE, related_name="+")
    target_version = models.PositiveIntegerField()
    model_label = models.CharField(max_length=100, blank=True)
    cursor = models.BigIntegerField(null=True, blank=True)
    moved = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lab"], condition=models.Q(finished_at=None), name="vault_one_open_rotation"
            )
        ]

    def __str__(self):
        return f"lab #{self.lab_id} to v{self.target_version}"


def new_record_id() -> int:
    """A random positive 63-bit id, known before the INSERT.

    Sealing binds the ciphertext to the primary key, so the key must exist
    before the row does (bulk_create included). Random ids also do not reveal
    how many patients a lab has or in which order they came.
    """
    return secrets.randbits(63) or 1


def new_record_ids(count: int) -> list[int]:
    """`count` ids as new_record_id makes them, from one read of the system's random source
    (a read per id was 2 % of an import's check pass)."""
    data = secrets.token_bytes(8 * count)
    return [(int.from_bytes(data[i:i + 8], "big") >> 1) or 1 for i in range(0, 8 * count, 8)]


class SealedColumns(models.Model):
    """The columns of a sealed row: operational ones in clear, the identifying ones in `sealed`."""

    id = models.BigIntegerField(primary_key=True, default=new_record_id, editable=False)
    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+")
    sealed = models.BinaryField()
    # Not indexed: every sealed insert would pay for an index that only rotation, a rare
    # batch job that visits the lab's rows anyway, would read (bench/RESULTS.md).
    key_version = models.PositiveIntegerField()
    # Counts the seals of the row and is bound into each: an older token of the same row
    # no longer opens (issue 16, item 9; docs/security.md).
    revision = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


def sealed_models() -> list[type[SealedColumns]]:
    """Every concrete model holding sealed data, in a stable order."""
    found = [
        m
        for m in apps.get_models()
        if issubclass(m, SealedColumns) and not m._meta.abstract and not m._meta.proxy
    ]
    return sorted(found, key=lambda m: m._meta.label_lower)
