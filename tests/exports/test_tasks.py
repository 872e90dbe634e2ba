"""The production task: queued by the approval, run by the worker, safe to run twice."""

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from etanche.exports import production
from etanche.exports import services as exports
from etanche.exports.models import Export, Status
from etanche.exports.tasks import produce_export_task
from etanche.ops import worker
from tests.exports.helpers import requested

pytestmark = pytest.mark.django_db(transaction=True)  # the worker commits, as in production


def test_a_refused_approval_queues_nothing(world, key):
    export = requested(world, key[1])
    with pytest.raises(exports.ExportRefused):
        exports.approve_export(export, world.labadmin)  # the requester: four eyes
    assert not DBTaskResult.objects.exists()


def test_the_worker_produces_what_the_approval_queued_and_a_second_run_does_nothing(
        with_patients, key):
    world = with_patients
    export = exports.approve_export(requested(world, key[1]), world.biologist)
    assert Export.objects.get(pk=export.pk).is_queued

    worker.run(interval=0.1, batch=True)

    export.refresh_from_db()
    assert export.status == Status.PRODUCED and export.rows == len(world.patients) + 1
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL
    assert produce_export_task.call(export.pk) == "nothing to do"


def test_a_failure_names_its_class_and_never_its_message(world, key, monkeypatch):
    def broken(export):
        raise ValueError("1840575123456 Dupont")  # what a real message could quote

    monkeypatch.setattr(production, "produce_export", broken)
    export = exports.approve_export(requested(world, key[1]), world.biologist)

    worker.run(interval=0.1, batch=True)

    task = DBTaskResult.objects.get()
    assert task.status == TaskResultStatus.FAILED
    assert task.exception_class_path == "etanche.exports.tasks.ProductionFailed"
    assert "ValueError" in task.traceback and "Dupont" not in task.traceback
    assert "1840575123456" not in task.traceback
    export.refresh_from_db()
    assert export.status == Status.APPROVED and export.production_error == "ValueError"
