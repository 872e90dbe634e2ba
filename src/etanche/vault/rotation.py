"""Key rotation: new data-key versions with an online, resumable re-seal; master re-wrap.

A data-key rotation makes the new version primary in one transaction (new
writes use it at once), then moves existing rows in batches. Each batch and
the job's cursor commit together, so a run killed at any point resumes where
the last commit left it; rows written meanwhile by other processes, still on
the old version for up to VAULT_RECHECK_SECONDS, are caught by a final sweep.
Old versions stay available for decryption: values sealed outside the
registered models (e.g. the journal's chain state) may still name them.

The vault journals nothing (it imports no other app): a caller that records
rotations passes `on_started` / `on_rewrapped`, called inside the transaction
that makes the change, so its record commits or rolls back with it.
"""

import os
from collections.abc import Callable
from datetime import UTC, datetime

import tink
from django.db import transaction
from django.utils import timezone

from etanche.vault import keyring, master
from etanche.vault.errors import MasterKeyMissing, MasterKeyWrong, VaultError
from etanche.vault.models import LabKeyset, MasterKeyRecord, RotationJob, sealed_models
from etanche.vault.providers import provider_from_uri
from etanche.vault.providers.file import FileProvider
from etanche.vault.sealed import SEAL_COLUMNS

BatchHook = Callable[[int, int], None]
StartedHook = Callable[[int, int], None]  # (lab id, new version)
RewrappedHook = Callable[[str, int], None]  # (new master key id, keysets re-wrapped)


def start(lab, *, on_started: StartedHook | None = None) -> tuple[RotationJob, bool]:
    """Make a new AEAD version primary. Returns (job, started); an unfinished job is reused.

    `lab`: a Lab or its primary key. `on_started(lab_id, version)` runs in the
    transaction that makes the version primary, and only when one was made.
    """
    lab_id = keyring.lab_pk(lab)
    with transaction.atomic():
        jobs = RotationJob.objects.select_for_update().filter(lab_id=lab_id, finished_at=None)
        job = jobs.first()
        if job is not None:
            return job, False
        rows = list(
            LabKeyset.objects.select_for_update().filter(lab_id=lab_id, kind=LabKeyset.AEAD)
        )
        primary = next((r for r in rows if r.state == LabKeyset.PRIMARY), None)
        if primary is None:
            raise keyring._missing(lab_id)
        provider, kek_aead = master.kek()
        version = max(r.version for r in rows) + 1
        primary.state = LabKeyset.ACTIVE
        primary.save(update_fields=["state"])
        handle = tink.new_keyset_handle(keyring.AEAD_TEMPLATE)
        LabKeyset.objects.create(
            lab_id=lab_id,
            kind=LabKeyset.AEAD,
            version=version,
            state=LabKeyset.PRIMARY,
            wrapped=keyring.wrap(handle, kek_aead, lab_id, LabKeyset.AEAD, version),
            kek_id=provider.key_id(),
        )
        job = RotationJob.objects.create(lab_id=lab_id, target_version=version)
        if on_started:
            on_started(lab_id, version)
    keyring.forget(lab_id)
    return job, True


def remaining(job: RotationJob) -> int:
    return sum(
        m.objects.filter(lab_id=job.lab_id, key_version__lt=job.target_version).count()
        for m in sealed_models()
    )


def _batch(job: RotationJob, model, batch_size: int) -> int:
    """Move one batch of `model` rows to the target version; commits with the cursor."""
    with transaction.atomic():
        # Writing the job row first takes SQLite's write lock before we read the
        # rows, so no other writer can slip in between our read and our update.
        RotationJob.objects.filter(pk=job.pk).update(moved=job.moved)
        rows = model.objects.select_for_update().filter(
            lab_id=job.lab_id, key_version__lt=job.target_version
        )
        if job.cursor is not None and job.model_label == model._meta.label_lower:
            rows = rows.filter(pk__gt=job.cursor)
        columns = ("pk", "lab_id", *SEAL_COLUMNS, *model.bound_columns())
        rows = list(rows.order_by("pk").only(*columns)[:batch_size])
        if not rows:
            return 0
        for row in rows:
            # Checked against its bound columns, sealed again with them and a new revision.
            row.reseal()
            if row.key_version != job.target_version:
                raise VaultError(
                    f"lab #{job.lab_id}: primary key version is not {job.target_version} "
                    "(concurrent rotation?); run `etanche keys rotate` again"
                )
        model.objects.bulk_update(rows, list(SEAL_COLUMNS))
        job.model_label = model._meta.label_lower
        job.cursor = rows[-1].pk
        job.moved += len(rows)
        job.save(update_fields=["model_label", "cursor", "moved"])
    return len(rows)


def reseal(job: RotationJob, *, batch_size: int = 500, on_batch: BatchHook | None = None) -> int:
    """Move every row of the job's lab to its target version. Safe to call again after a kill."""
    total = job.moved + remaining(job)
    models = sealed_models()
    while True:
        labels = [m._meta.label_lower for m in models]
        start_at = labels.index(job.model_label) if job.model_label in labels else 0
        for position, model in enumerate(models[start_at:], start=start_at):
            if position != start_at:
                job.cursor = None
            while _batch(job, model, batch_size):
                if on_batch:
                    on_batch(job.moved, max(total, job.moved))
            job.cursor = None
        # The final sweep: late writes from processes that had not seen the new primary yet.
        if remaining(job) == 0:
            break
        job.model_label, job.cursor = "", None
    job.finished_at = timezone.now()
    job.save(update_fields=["finished_at"])
    if on_batch:
        on_batch(job.moved, max(total, job.moved))
    return job.moved


def rotate_lab(lab, *, batch_size: int = 500, on_batch: BatchHook | None = None,
               on_started: StartedHook | None = None):
    job, started = start(lab, on_started=on_started)
    moved = reseal(job, batch_size=batch_size, on_batch=on_batch)
    return job, started, moved


def unfinished_jobs():
    return RotationJob.objects.filter(finished_at=None).order_by("lab_id")


# --- master key ---------------------------------------------------------------


def _finish_file_swap(current: FileProvider, nxt: FileProvider, *, destroy_old: bool) -> None:
    if current.path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        retired = current.path.with_name(f"{current.path.name}.retired-{stamp}")
        os.replace(current.path, retired)
        if destroy_old:
            FileProvider(f"file://{retired}").destroy()
    os.replace(nxt.path, current.path)
    master.forget()


def rotate_master(*, new_uri: str | None = None, destroy_old: bool = False,
                  on_rewrapped: RewrappedHook | None = None) -> str:
    """Re-wrap every lab keyset under a new master key. Returns a one-line summary.

    `on_rewrapped(key_id, keysets)` runs in the transaction that re-wraps them.

    With the default file provider and no new URI, the new key is written next
    to the old one (`.next`), the database is re-wrapped in one transaction, and
    the files are swapped; a run interrupted after the commit finishes the swap
    when run again. Other providers need ETANCHE_NEW_MASTER_KEY.
    """
    current_uri = master.configured_uri()
    current = provider_from_uri(current_uri)
    swap = new_uri is None
    if swap:
        if not isinstance(current, FileProvider):
            raise VaultError(
                "to rotate a master key held in an HSM or a KMS, set ETANCHE_NEW_MASTER_KEY "
                "to the new key's URI, then switch ETANCHE_MASTER_KEY to it"
            )
        target = FileProvider(f"file://{current.path}.next")
        if target.exists():
            try:
                master.verify(target, target.aead())
            except MasterKeyWrong:
                target.destroy()  # left by a run killed before its commit: wraps nothing
            else:
                if MasterKeyRecord.objects.filter(current=True, key_id=target.key_id()).exists():
                    _finish_file_swap(current, target, destroy_old=destroy_old)
                    return f"finished an interrupted master-key rotation: {current.describe()}"
                target.destroy()
    else:
        target = provider_from_uri(new_uri)
    _, old_aead = master.kek(current_uri)
    if not target.exists():
        if not target.can_create:
            raise MasterKeyMissing(f"the new master key {target.describe()} does not exist")
        target.create()
    new_aead = target.aead()
    with transaction.atomic():
        record = MasterKeyRecord.objects.select_for_update().get(current=True)
        rows = list(LabKeyset.objects.select_for_update())
        for row in rows:
            handle = keyring.unwrap(row.wrapped, old_aead, row.lab_id, row.kind, row.version)
            row.wrapped = keyring.wrap(handle, new_aead, row.lab_id, row.kind, row.version)
            row.kek_id = target.key_id()
        LabKeyset.objects.bulk_update(rows, ["wrapped", "kek_id"])
        record.current = False
        record.retired_at = timezone.now()
        record.save(update_fields=["current", "retired_at"])
        MasterKeyRecord.objects.create(
            key_id=target.key_id(), check_value=master.new_check_value(new_aead)
        )
        if on_rewrapped:
            on_rewrapped(target.key_id(), len(rows))
    master.forget()
    keyring.forget()
    if swap:
        _finish_file_swap(current, target, destroy_old=destroy_old)
        return f"master key rotated: {len(rows)} keysets re-wrapped in {current.describe()}"
    return (
        f"master key rotated: {len(rows)} keysets re-wrapped under {target.describe()}; "
        "now set ETANCHE_MASTER_KEY to it"
    )
