"""The worker's side of a web breach scan (breach.tasks): scan the sealed spool, destroy it.

See breach/jobs.py for the whole flow. The spool is read by unsealing one chunk at a time
(breach/spool.py), never in clear on disk; it is deleted when the scan is recorded, when
it fails, or by the worker's round 24 hours after the upload (`purge_expired`).
"""

import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from etanche.breach import services, spool
from etanche.breach.models import BreachScanJob, CaseStatus, ScanJobStatus
from etanche.tabular.readers import TabularError

PROGRESS_EVERY_SECONDS = 1.0  # one UPDATE a second at most: the page reloads every 2 s
ACTIVE = (ScanJobStatus.UPLOADED, ScanJobStatus.RUNNING)
GONE = "Le fichier reçu n'existe plus (supprimé au bout de 24 heures) : envoyez-le à nouveau."
EXPIRED = "Le fichier n'a pas été analysé dans les 24 heures ; il a été supprimé : " \
          "envoyez-le à nouveau."
CLOSED = "Dossier inconnu ou clos."


def spool_of(job: BreachScanJob) -> spool.SealedSpool:
    return spool.SealedSpool.existing(job.lab_id, job.spool_name)


def _forget_spool(job: BreachScanJob) -> str:
    """The spool's name taken off the job (saved by the caller); the file is deleted after."""
    name, job.spool_name = job.spool_name, ""
    return name


def _delete(lab_id: int, name: str) -> None:
    if name:
        spool.SealedSpool.existing(lab_id, name).delete()


def fail(job: BreachScanJob, message: str) -> None:
    name = _forget_spool(job)
    job.status, job.error, job.updated_at = ScanJobStatus.FAILED, message[:300], timezone.now()
    job.save()
    _delete(job.lab_id, name)


def run(job: BreachScanJob) -> None:
    """Scan the job's spool into its case (or a new one) as the DPO who uploaded it."""
    job.status, job.progress, job.error = ScanJobStatus.RUNNING, 0, ""
    job.updated_at = timezone.now()
    job.save(update_fields=["status", "progress", "error", "updated_at"])
    if not job.spool_name or not spool_of(job).path.exists():
        fail(job, GONE)
        return
    if job.case is not None and job.case.status == CaseStatus.CLOSED:
        fail(job, CLOSED)
        return
    shown = [time.monotonic()]

    def progress(rows: int) -> None:
        if time.monotonic() - shown[0] >= PROGRESS_EVERY_SECONDS:
            BreachScanJob.objects.filter(pk=job.pk).update(progress=rows,
                                                            updated_at=timezone.now())
            shown[0] = time.monotonic()

    name = job.spool_name

    def done(case, scan) -> None:
        _forget_spool(job)
        job.case, job.scan, job.status = case, scan, ScanJobStatus.DONE
        job.progress, job.updated_at = scan.rows, timezone.now()
        job.save()

    try:
        services.scan_into_case(job.lab, job.created_by, spool_of(job).open,
                                job.get_sealed()["sha256"], case=job.case, via="web",
                                progress=progress, then=done)
    except TabularError as exc:
        fail(job, str(exc))
        return
    _delete(job.lab_id, name)


def purge_expired(now=None) -> int:
    """The worker's round: jobs not scanned 24 hours after their upload fail and lose their
    spool (a running one only if it stopped moving that long ago: a dead worker), then
    spools no job reads any more (a process killed mid-upload) go; how many."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=spool.STALE_SECONDS)
    stale = BreachScanJob.objects.filter(status__in=ACTIVE, created_at__lt=limit).exclude(
        status=ScanJobStatus.RUNNING, updated_at__gte=limit)
    done = 0
    for job in stale:
        with transaction.atomic():
            fail(job, EXPIRED)
        done += 1
    reading = set(BreachScanJob.objects.filter(status__in=ACTIVE).exclude(spool_name="")
                  .values_list("spool_name", flat=True))
    return done + spool.purge_stale(now.timestamp(), keep=reading)
