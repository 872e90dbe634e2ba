"""Several processes journaling at once keep one valid chain per lab."""

import subprocess
import threading

import pytest
from django.db import connection, transaction

from etanche.journal.models import Action, Entry
from etanche.journal.services import record
from etanche.journal.verify import verify
from tests.cli_helpers import ETANCHE, run_etanche
from tests.db_helpers import fresh_instance

WRITER = """
from etanche.journal.services import record
from etanche.labs.models import Lab
lab = Lab.objects.get(slug="conc") if {use_lab} else None
for i in range({n}):
    record(lab=lab, user=None, action="read", object_type="patient", object_id=i)
"""


def _run_writers(env, use_lab, processes=4, n=40):
    code = WRITER.format(use_lab=use_lab, n=n)
    procs = [
        subprocess.Popen(
            [ETANCHE, "shell", "-c", code],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err


def test_concurrent_writers_keep_valid_chains(tmp_path):
    with fresh_instance(tmp_path) as env:
        created = run_etanche(
            "labs", "create", "conc", "--name", "Concurrence", "--finess", "990000002", env=env
        )
        assert created.returncode == 0, created.stderr
        _run_writers(env, use_lab=True)
        _run_writers(env, use_lab=False)
        result = run_etanche("journal", "verify", env=env)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        # 4 x 40 writes + the start marker; the lab chain also holds its creation entry.
        assert any(line.startswith("ok   journal system:") for line in lines)
        counts = {line.split()[2].rstrip(":"): int(line.split()[3]) for line in lines}
        assert counts["system"] >= 161
        lab_chain = next(name for name in counts if name.startswith("lab:"))
        assert counts[lab_chain] >= 161


@pytest.mark.django_db(transaction=True)
def test_threads_appending_to_two_chains_at_once_neither_deadlock_nor_fork(make_lab):
    """In-process: a lab's chain and the system chain, both locked with the registry in
    one statement (journal/registry.py lock_with_chain), written by four threads."""
    lab = make_lab()
    record(lab=lab, user=None, action=Action.SEARCH)
    record(lab=None, user=None, action=Action.SEARCH)
    errors = []

    def write(use_lab):
        try:
            for i in range(15):
                with transaction.atomic():
                    record(lab=lab if use_lab else None, user=None, action=Action.READ,
                           object_type="patient", object_id=i)
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n % 2 == 0,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    reports = {r.chain: r for r in verify()}
    assert reports[f"lab:{lab.pk}"].problem is None
    assert reports["system"].problem is None
    assert Entry.objects.filter(lab_id=lab.pk, action=Action.READ).count() == 30
