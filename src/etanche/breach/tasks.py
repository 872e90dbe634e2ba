"""The breach app's background task, run by `etanche worker` (docs/adr/0006-task-queue.md).

Arguments are ids only. A task run twice (a worker killed mid-scan) finds the job still
running and scans again from scratch: nothing of a scan is written before its last
transaction (breach.services.scan_into_case), so no second case or scan appears; a job
already done or failed is left alone.
"""

import logging

from django_tasks import task

from etanche.breach import work
from etanche.breach.models import BreachScanJob

log = logging.getLogger("etanche.breach")


class BreachScanFailed(Exception):
    """Stands in for the real exception in the queue's row, whose text could quote data."""


@task()
def scan_breach_task(job_id: int) -> str:
    job = BreachScanJob.objects.select_related("lab", "case", "created_by").filter(
        pk=job_id).first()
    if job is None or job.status not in work.ACTIVE:
        return "nothing to do"
    try:
        work.run(job)
    except Exception as exc:
        job.refresh_from_db()  # what was committed: the spool's name if the record rolled back
        if job.status in work.ACTIVE:
            work.fail(job, "L'analyse du fichier a échoué ; envoyez-le à nouveau.")
        log.error("breach scan job %s: failed (%s)", job_id, type(exc).__name__)
        raise BreachScanFailed(type(exc).__name__) from None
    return str(job.status)
