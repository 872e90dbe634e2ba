"""Crypto-shredding: destroy a lab's keysets so its sealed data cannot be opened again."""

from django.db import connection, transaction

from etanche.vault import keyring
from etanche.vault.models import LabKeyset, RotationJob, ShreddedLab


def _scrub_storage() -> None:
    """Push deleted key bytes out of the database files, not only out of the tables."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # The WAL still holds the pages as they were before the delete.
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        elif connection.vendor == "postgresql":
            # Dead tuples keep the old bytes until vacuumed.
            cursor.execute("VACUUM vault_labkeyset")


@transaction.atomic
def shred_lab_keys(lab) -> int:
    """Delete every keyset of the lab and mark it shredded. Returns how many were destroyed."""
    lab_id = keyring.lab_pk(lab)
    if connection.vendor == "sqlite":
        # Zero freed pages so the key bytes do not linger in the database file.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")
    rows = LabKeyset.objects.select_for_update().filter(lab_id=lab_id)
    count = rows.count()
    rows.delete()
    RotationJob.objects.filter(lab_id=lab_id).delete()
    ShreddedLab.objects.get_or_create(lab_id=lab_id)
    keyring.forget(lab_id)
    transaction.on_commit(_scrub_storage)
    return count
