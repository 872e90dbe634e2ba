"""The exports app's background tasks, run by `etanche worker` (docs/adr/0006-task-queue.md).

Arguments are ids only: the queue's rows are not sealed. A task may run more
than once (a worker killed mid-task has its task run again), so each one
checks the row's state first and starts from scratch.
"""

import logging

from django_tasks import task

from etanche.exports import production
from etanche.exports.errors import ExportGone, ExportRefused
from etanche.exports.models import Export, Status

log = logging.getLogger("etanche.exports")


class ProductionFailed(Exception):
    """Stands in for the real exception in the queue's row, whose text could quote data."""


@task()
def produce_export_task(export_id: int) -> str:
    export = Export.objects.filter(pk=export_id).first()
    if export is None or export.status != Status.APPROVED:
        return "nothing to do"  # produced by another run, refused, purged or expired
    try:
        production.produce_export(export)
    except (ExportRefused, ExportGone):
        return "not produced"  # expired or purged meanwhile: housekeeping ends it
    except Exception as exc:
        production.record_failure(export_id, exc)
        log.error("export %s: production failed (%s)", export_id, type(exc).__name__)
        raise ProductionFailed(type(exc).__name__) from None
    return "produced"
