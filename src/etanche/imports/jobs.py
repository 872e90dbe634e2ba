"""Web imports: the uploaded file encrypted on arrival, proposed, confirmed, run by the worker.

    job, writer = jobs.receive(lab, user, "patients")   # then writer.write(chunk)... close()
    jobs.received(job, writer)        # queues the proposal (tasks.propose_import_task)
    jobs.confirm(job, user, dry_run=False, accept_valid=False)  # queues the import
    jobs.abandon(job, user)           # destroys the file and its key

The file is age-encrypted from its first byte to a key pair of its own
(vault.uploads), whose private key is sealed in the job's row under the lab's
keys; the worker reads it decrypted through a pipe, never on disk. It is
destroyed when the import ends (a dry run keeps it for the real run), when the
lab admin abandons it, or `ETANCHE_IMPORT_KEEP_HOURS` after the upload
(`purge_expired`, a worker round). The page shows the proposed mapping on the
first rows masked (initials, last two digits).
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from etanche.imports import services, tasks, work
from etanche.imports.models import ImportJob, JobStatus
from etanche.journal.models import Action, Outcome
from etanche.journal.services import record as journal
from etanche.vault import uploads

KINDS = ("patients", "requests")


def receive(lab, user, kind: str) -> tuple[ImportJob, uploads.EncryptingWriter]:
    if kind not in KINDS:
        raise services.ImportRefused("Choisissez ce que le fichier contient : patients ou "
                                     "demandes.")
    identity, recipient = uploads.new_upload_key()
    now = timezone.now()
    job = ImportJob(lab=lab, kind=kind, requested_by=user, file_name=secrets.token_hex(16),
                    created_at=now, updated_at=now)
    job.set_sealed({"identity": identity, "mapping": [], "preview": [], "facts": {}})
    job.save(force_insert=True)
    return job, uploads.EncryptingWriter(work.path_of(job), recipient)


def received(job: ImportJob, writer: uploads.EncryptingWriter) -> None:
    with transaction.atomic():
        job.size, job.file_sha256 = writer.size, writer.sha256.hexdigest()
        job.save(update_fields=["size", "file_sha256"])
        journal(lab=job.lab, user=job.requested_by, action=Action.IMPORT,
                object_type="import", object_id=job.pk,
                detail={"stage": "upload", "kind": job.kind, "file_sha256": job.file_sha256,
                        "size": job.size, "via": "web"})
        tasks.propose_import_task.enqueue(job.pk)


def confirm(job: ImportJob, user, *, dry_run: bool, accept_valid: bool) -> None:
    if job.status not in (JobStatus.PROPOSED, JobStatus.DONE) or not job.file_name:
        raise services.ImportRefused("Cet import ne peut plus être lancé.")
    with transaction.atomic():
        job.status, job.dry_run, job.accept_valid = JobStatus.RUNNING, dry_run, accept_valid
        job.progress, job.stage, job.report, job.updated_at = 0, "", {}, timezone.now()
        job.save()
        tasks.run_import_task.enqueue(job.pk, user.pk)


def abandon(job: ImportJob, user) -> None:
    if job.status == JobStatus.RUNNING:
        raise services.ImportRefused("L'import est en cours : attendez sa fin.")
    with transaction.atomic():
        was = job.status
        job.status, job.updated_at = JobStatus.ABANDONED, timezone.now()
        work.destroy(job)
        journal(lab=job.lab, user=user, action=Action.IMPORT, object_type="import",
                object_id=job.pk, outcome=Outcome.OK,
                detail={"stage": "abandon", "was": str(was), "file_sha256": job.file_sha256})


def purge_expired(now=None) -> int:
    """Destroy the files of uploads older than ETANCHE_IMPORT_KEEP_HOURS (a worker round)."""
    now = now or timezone.now()
    limit = now - timedelta(hours=settings.ETANCHE_IMPORT_KEEP_HOURS)
    done = 0
    # A running import is left alone unless it stopped moving that long ago (a dead worker).
    stale = ImportJob.objects.filter(created_at__lt=limit).exclude(file_name="").exclude(
        status=JobStatus.RUNNING, updated_at__gte=limit)
    for job in stale.select_related("lab"):
        with transaction.atomic():
            job.status, job.updated_at = JobStatus.ABANDONED, now
            work.destroy(job)
            journal(lab=job.lab, user=None, action=Action.IMPORT, object_type="import",
                    object_id=job.pk, detail={"stage": "expired", "file_sha256": job.file_sha256})
        done += 1
    return done


def jobs_of_lab(lab):
    return ImportJob.objects.for_lab(lab).select_related("requested_by").order_by("-created_at")
