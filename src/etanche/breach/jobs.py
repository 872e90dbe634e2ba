"""Web breach scans: the leak sealed on arrival, scanned by the worker, then destroyed.

    job = jobs.receive(lab, user, spool, case=None)  # queues tasks.scan_breach_task
    # the worker: work.run(job) -> BreachScan recorded, case opened if none, spool deleted

The upload handler (web/breach_upload.py) seals the file chunk by chunk under the lab's
keys (breach/spool.py); the spool is handed to a BreachScanJob instead of being deleted
with the request. The page follows the job (uploaded, running with the rows read so far,
done with the scan's result, failed with one French sentence). The spool is deleted when
the scan is recorded or fails, or by the worker's round 24 hours after the upload
(work.purge_expired). The journal has what a synchronous scan writes: the case's opening
and the scan (services.record_scan), under the DPO who uploaded the file.
"""

from django.db import transaction
from django.utils import timezone

from etanche.breach import tasks
from etanche.breach.models import BreachCase, BreachScanJob


def receive(lab, user, spool, *, case: BreachCase | None = None) -> BreachScanJob:
    """A finished spool becomes a job; its task commits with it (the queue is a table)."""
    now = timezone.now()
    with transaction.atomic():
        job = BreachScanJob(lab_id=getattr(lab, "pk", lab), case=case, created_by=user,
                            spool_name=spool.name, size=spool.size, created_at=now,
                            updated_at=now)
        job.set_sealed({"sha256": spool.sha256})
        job.save(force_insert=True)
        tasks.scan_breach_task.enqueue(job.pk)
    return job
