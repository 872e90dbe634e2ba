"""kill -9 in the middle of `etanche export produce`: no plaintext left, and a retry works."""

import os
import signal
import subprocess
import time

import pytest
from django.conf import settings

from etanche.exports import crypto
from etanche.exports import services as exports
from etanche.exports.models import Status
from etanche.patients.bulk import bulk_register
from etanche.synthetic.people import envelope_of, generate
from tests.cli_helpers import ETANCHE
from tests.exports.helpers import age_key, child_env, decrypt
from tests.leakscan import files_under, find_leaks
from tests.personas import build_world

PATIENTS = 10_000


@pytest.mark.django_db(transaction=True)
def test_a_killed_export_leaves_no_plaintext_and_can_be_retried():
    world = build_world()
    identities = generate(PATIENTS, seed=99)
    bulk_register(world.lab_a, map(envelope_of, identities))
    identity, recipient = age_key()
    export = exports.request_export(world.lab_a, world.labadmin, profile="migration",
                                    fmt="csv", selection="all", recipient=recipient)
    exports.approve_export(export, world.biologist)
    part = crypto.exports_dir() / (export.file_name + crypto.PART)
    process = subprocess.Popen([ETANCHE, "export", "produce", str(export.pk)], env=child_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if part.exists() and part.stat().st_size > 128 * 1024:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the export finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert part.exists()  # killed half-way: only ciphertext was there
    # High-entropy values only: common surnames also name the staff (in clear, by design).
    needles = [v for i in identities[:300] for v in (i.ins, i.email, i.phone)]
    blob = b"".join(files_under([settings.DATA_DIR]).values())
    assert find_leaks(blob, needles) == []
    export.refresh_from_db()
    assert export.status == Status.APPROVED
    done = exports.produce_export(export)
    assert done.status == Status.PRODUCED and done.rows == PATIENTS + 1
    assert not part.exists()
    text = decrypt(crypto.exports_dir() / done.file_name, identity).decode("utf-8-sig")
    assert text.count("\r\n") == PATIENTS + 2  # header, patients, canary
