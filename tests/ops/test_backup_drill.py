"""The restore drill (issue 22, item 3): a lost server rebuilt from a backup and the escrow.

On the database the suite runs on (SQLite, or PostgreSQL with DATABASE_URL: each
installation gets its own throwaway database). A populated installation is escrowed
and backed up, a new data directory and database receive the master key from two of
three custodians, then the backup; search, the journal and an export must work.
"""

import json
import subprocess

from tests.cli_helpers import ETANCHE, run_etanche
from tests.ops.backup_helpers import (
    HERE,
    backup_env,
    custodian,
    empty_instance,
    ok,
    populated,
    probe,
    shell,
)


def _escrow_and_backup(env, tmp_path):
    people = [custodian(tmp_path, f"custodian{i}") for i in (1, 2, 3)]
    ok(run_etanche("keys", "escrow", "--threshold", "2", "--out", str(tmp_path / "shares"),
                   *[arg for recipient, _ in people for arg in ("--to", recipient)], env=env))
    operator, identity = custodian(tmp_path, "backup-operator")
    made = ok(run_etanche("backup", "create", "--to", str(tmp_path / "backups"),
                          env=backup_env(env, operator), timeout=300))
    return people, identity, made.stdout.strip().splitlines()[-1]


def _rebuild(target, tmp_path, people, identity, backup):
    shares = tmp_path / "shares"
    ok(run_etanche("keys", "recover",
                   "--share", str(shares / "share-2.age"), "--identity", str(people[1][1]),
                   "--share", str(shares / "share-3.age"), "--identity", str(people[2][1]),
                   env=target))
    restored = ok(run_etanche("backup", "restore", backup, "--identity", str(identity),
                              env=target, timeout=600))
    assert "installation ok" in restored.stdout
    assert "1 key recovery entr(ies) recorded" in restored.stdout
    return restored


def test_a_lost_server_is_rebuilt_from_the_backup_and_two_custodians(tmp_path):
    with populated(tmp_path, patients=15) as env:
        before = probe(env)
        people, identity, backup = _escrow_and_backup(env, tmp_path)
    # The original installation (data directory and database) is gone from here on.
    with empty_instance(tmp_path) as target:
        _rebuild(target, tmp_path, people, identity, backup)
        recipient, _ = custodian(tmp_path, "export-recipient")
        after = probe(target, full=True, recipient=recipient)
        assert after["patients"] == after["opened"] == before["patients"] == "15"
        assert int(after["search_found"]) >= 1
        assert after["export_status"] == "produced"
        ok(run_etanche("journal", "verify", env=target))
        actions = json.loads(shell(target, (
            "import json; from etanche.journal.models import Entry; print(json.dumps(list("
            "Entry.objects.filter(lab_id=None).order_by('seq').values_list('action', "
            "flat=True))))")).splitlines()[-1])
        assert actions[-2:] == ["key-recover", "restore"]


def test_a_backup_taken_during_registrations_restores_whole_rows_only(tmp_path):
    with populated(tmp_path, patients=3) as env:
        code = f"exec(open({str(HERE / 'register_loop.py')!r}).read())"
        loop = subprocess.Popen([ETANCHE, "shell", "-c", code],
                                env={**env, "LOOP_PATIENTS": "20000"}, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            # Wait for registrations to be under way, then back up in the middle of them.
            seen = 0
            while seen < 5:
                line = loop.stdout.readline()
                assert line, "the registration loop stopped"
                seen += line.startswith("registered")
            people, identity, backup = _escrow_and_backup(env, tmp_path)
            running = loop.poll() is None
        finally:
            loop.kill()
            loop.wait()
        assert running, "the registrations ended before the backup: make the loop longer"
    with empty_instance(tmp_path) as target:
        _rebuild(target, tmp_path, people, identity, backup)
        seen = probe(target)
        assert seen["patients"] == seen["opened"]
        # Each registration is one transaction: the patient, its blind-index rows and its
        # journal entry are in the backup together or not at all.
        counts = json.loads(shell(target, (
            "import json; from etanche.patients.models import Patient, PatientIndex; "
            "from etanche.journal.models import Entry; "
            "print(json.dumps([Patient.objects.count(), "
            "Patient.objects.filter(pk__in=PatientIndex.objects.values('patient_id'))"
            ".count(), Entry.objects.filter(action='create', object_type='patient').count()]))"
        )).splitlines()[-1])
        patients, indexed, created = counts
        assert patients > 3 + 5 - 1
        assert indexed == patients
        assert created == patients - 3 + 1  # the demo's bulk fill journals once per batch
        ok(run_etanche("journal", "verify", env=target))
