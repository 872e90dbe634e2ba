"""The imports app's background tasks, run by `etanche worker` (docs/adr/0006-task-queue.md).

Arguments are ids only. A task run twice (a worker killed mid-task) finds the job's
state and starts again: the import itself skips the rows an earlier run committed.
"""

import logging

from django_tasks import task

from etanche.accounts.models import User
from etanche.imports import work
from etanche.imports.models import ImportJob, JobStatus

log = logging.getLogger("etanche.imports")


class ImportFailed(Exception):
    """Stands in for the real exception in the queue's row, whose text could quote data."""


@task()
def propose_import_task(job_id: int) -> str:
    job = ImportJob.objects.select_related("lab").filter(pk=job_id).first()
    if job is None or job.status != JobStatus.UPLOADED:
        return "nothing to do"
    try:
        work.propose(job)
    except Exception as exc:
        work.fail(job, "La lecture du fichier a échoué.")
        log.error("import %s: proposal failed (%s)", job_id, type(exc).__name__)
        raise ImportFailed(type(exc).__name__) from None
    return "proposed"


@task()
def run_import_task(job_id: int, user_id: int) -> str:
    job = ImportJob.objects.select_related("lab").filter(pk=job_id).first()
    if job is None or job.status != JobStatus.RUNNING:
        return "nothing to do"
    try:
        work.run(job, User.objects.get(pk=user_id))
    except Exception as exc:
        work.fail(job, "L'import a échoué ; les lots déjà écrits le restent, relancez "
                        "l'envoi du fichier pour le terminer.")
        log.error("import %s: failed (%s)", job_id, type(exc).__name__)
        raise ImportFailed(type(exc).__name__) from None
    return "done"
