"""kill -9 of `etanche worker` in the middle of an export: the next worker produces it whole."""

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from etanche.exports import crypto
from etanche.exports import services as exports
from etanche.exports.models import Export, Status
from etanche.patients.bulk import bulk_register
from etanche.synthetic.people import envelope_of, generate
from tests.cli_helpers import ETANCHE
from tests.exports.helpers import age_key, child_env, decrypt
from tests.leakscan import files_under, find_leaks
from tests.personas import build_world

PATIENTS = 10_000
# Several forked producers too: their orphans must not keep the dead worker looking alive.
ENV = {"ETANCHE_EXPORT_PARALLEL_MIN": "1", "ETANCHE_EXPORT_WORKERS": "2",
       "ETANCHE_WORKER_POLL_SECONDS": "1"}


def _wait_for(condition, what: str, process=None, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds} s")
        time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_export_loses_nothing():
    world = build_world()
    identities = generate(PATIENTS, seed=98)
    bulk_register(world.lab_a, map(envelope_of, identities))
    identity, recipient = age_key()
    export = exports.request_export(world.lab_a, world.labadmin, profile="migration",
                                    fmt="csv", selection="all", recipient=recipient)
    exports.approve_export(export, world.biologist)  # queues the production
    task = DBTaskResult.objects.get()
    assert task.status == TaskResultStatus.READY and task.args_kwargs["args"] == [export.pk]

    with tempfile.TemporaryFile() as log:
        first = subprocess.Popen([ETANCHE, "worker"], env=child_env(**ENV),
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for(lambda: Export.objects.get(pk=export.pk).progress_done > 0,
                      "progress", first)
            row = Export.objects.get(pk=export.pk)
            assert row.status == Status.APPROVED, "the export finished before it could be killed"
            assert row.progress_total == PATIENTS + 1
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        task.refresh_from_db()
        assert task.status == TaskResultStatus.RUNNING  # the library leaves it so
        # High-entropy values only: common surnames also name the staff (in clear, by design).
        needles = [v for i in identities[:300] for v in (i.ins, i.email, i.phone)]
        blob = b"".join(files_under([settings.DATA_DIR]).values())
        assert find_leaks(blob, needles) == []

        second = subprocess.run([ETANCHE, "worker", "--batch"], env=child_env(**ENV),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                timeout=300, check=False)
        log.seek(0)
        output = log.read().decode(errors="replace")
    assert second.returncode == 0, output[-2000:]
    assert "queued again" in output

    done = Export.objects.get(pk=export.pk)
    assert done.status == Status.PRODUCED and done.rows == PATIENTS + 1
    assert done.progress_done == done.progress_total == PATIENTS + 1
    task.refresh_from_db()
    assert task.status == TaskResultStatus.SUCCESSFUL and len(task.worker_ids) == 2
    files = [p.name for p in crypto.exports_dir().iterdir()
             if p.name.startswith(f"export-{done.pk}.")]
    assert files == [done.file_name]  # no partial file left, and never a clear one
    assert list((Path(settings.DATA_DIR) / "workers").iterdir()) == []
    text = decrypt(crypto.exports_dir() / done.file_name, identity).decode("utf-8-sig")
    assert text.count("\r\n") == PATIENTS + 2  # header, patients, canary
