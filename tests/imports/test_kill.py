"""kill -9 of `etanche import patients` mid-write: whole batches only, and the re-run
imports each remaining row exactly once."""

import os
import signal
import subprocess
import time

import pytest

from etanche.accounts.models import SealedTOTPDevice
from etanche.imports import services as imports
from etanche.imports.models import ImportedRecord
from etanche.patients.models import Patient
from tests.cli_helpers import ETANCHE
from tests.exports.helpers import child_env
from tests.imports.helpers import code, other_rows, write_other_csv
from tests.personas import build_world

ROWS = 3000
BATCH = 100


@pytest.mark.django_db(transaction=True)
def test_a_killed_import_is_finished_by_the_next_run_each_row_once(tmp_path):
    world = build_world()
    path = write_other_csv(tmp_path / "ancien.csv", other_rows(ROWS, seed=31))
    env = child_env(ETANCHE_IMPORT_BATCH=str(BATCH))
    SealedTOTPDevice.objects.filter(user=world.labadmin).update(last_t=-1)
    process = subprocess.Popen(
        [ETANCHE, "import", "patients", str(path), "--lab", "lab-a", "--by",
         world.labadmin.username], env=env, stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    process.stdin.write((code(world.labadmin) + "\n").encode())
    process.stdin.close()
    deadline = time.monotonic() + 180
    while ImportedRecord.objects.count() < 3 * BATCH:
        assert process.poll() is None, process.stderr.read().decode()[-300:]
        assert time.monotonic() < deadline, "no batch written in time"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = ImportedRecord.objects.count()
    assert done < ROWS, "the import finished before it could be killed"
    assert done % BATCH == 0 and Patient.objects.count() == done  # whole batches only

    plan = imports.plan(path, "patients")
    report = imports.import_patients(world.lab_a, world.labadmin, path, plan)
    assert (report.already, report.imported) == (done, ROWS - done)
    assert Patient.objects.count() == ImportedRecord.objects.count() == ROWS
    assert ImportedRecord.objects.values("digest").distinct().count() == ROWS
