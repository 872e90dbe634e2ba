"""`etanche audit`: each planted leak is found (never printed), weak configuration is
reported, a fresh installation has no high finding (issue 23, item 6)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse

from etanche.lib import audit_report
from etanche.ops import audit
from tests.cli_helpers import clean_env, run_etanche
from tests.personas import sign_in

NIR = "2840329019101"  # a synthetic NIR: key computed below
PLANTS = {
    "nir": f"{NIR}{97 - int(NIR) % 97:02d}",
    "phone": "06 39 98 12 34",
    "email": "anne.kergoat@exemple-patient.fr",
    "name": "MARTIN Anne",
    "health": "patiente enceinte, suivi VIH",
}


@pytest.fixture
def data_dir(settings, tmp_path):
    root = tmp_path / "data"
    root.mkdir(mode=0o700)
    settings.DATA_DIR = root
    return root


def _kinds(findings, where_starts):
    return {f.kind for f in findings if f.where.startswith(where_starts)}


def test_each_kind_of_plaintext_is_found_where_it_was_planted(db, data_dir, tmp_path,
                                                               monkeypatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    for kind, value in PLANTS.items():
        (data_dir / f"leak-{kind}.txt").write_text(f"x;{value};y\n", encoding="utf-8")
    (temp / "etanche-upload.csv").write_text(";".join(PLANTS.values()), encoding="utf-8")
    log = tmp_path / "etanche.log"
    log.write_text(f"INFO patient {PLANTS['email']} {PLANTS['nir']}\n", encoding="utf-8")
    (data_dir / "backup.sqlite3").write_bytes(audit.SQLITE_HEADER + PLANTS["nir"].encode())
    (data_dir / "backup.age").write_bytes(b"age-encryption.org/v1\n" + PLANTS["nir"].encode())
    monkeypatch.setenv("ETANCHE_NOTE", PLANTS["phone"])
    findings = audit.run(temp_dir=temp, logs=[log])
    for kind in PLANTS:
        hit = [f for f in findings if f.kind == kind and f"leak-{kind}.txt" in f.where]
        assert hit, kind
    assert _kinds(findings, "répertoire temporaire") >= set(PLANTS)
    assert _kinds(findings, "journaux") == {"nir", "email"}
    assert any(f.kind == "phone" and "ETANCHE_NOTE" in f.where for f in findings)
    assert any(f.kind == "plain_copy" and "backup.sqlite3" in f.where for f in findings)
    assert not any("backup.age" in f.where for f in findings)  # encrypted: nothing readable
    # Nothing found is repeated in the report.
    text = json.dumps([f.__dict__ for f in findings], ensure_ascii=False)
    assert not any(value in text for value in PLANTS.values())


@pytest.mark.django_db(transaction=True)
def test_plaintext_written_to_the_database_is_found(data_dir, tmp_path, world):
    from etanche.labs.models import Lab
    Lab.objects.filter(pk=world.lab_a.pk).update(name=f"Labo {PLANTS['nir']} Brest")
    findings = audit.scan_database(audit.Scanner(set()))
    assert any(f.kind == "nir" for f in findings)


# Another process opening and closing the database, as the server's workers do.
_OTHER_PROCESS = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
                  "db.execute('select count(*) from sqlite_master').fetchall(); db.close()")


@pytest.mark.django_db(transaction=True)
def test_the_audit_reads_the_sqlite_files_without_dropping_its_locks(world, settings, tmp_path):
    """Opening and closing the database or its WAL and index files in the audit's own
    process released the locks of its open connection: the next process to close its
    connection, believing itself the last, deleted the WAL under it (howtocorrupt.html 2.2)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's locks only")
    name = str(connection.settings_dict["NAME"])
    settings.DATA_DIR = Path(name).parent  # the data directory scan meets -wal and -shm too
    wal = Path(f"{name}-wal")
    assert wal.exists()
    audit.run(temp_dir=tmp_path)
    subprocess.run([sys.executable, "-c", _OTHER_PROCESS, name], check=True)
    assert wal.exists(), "the WAL was deleted under the audit's open connection"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA quick_check")
        assert cursor.fetchone()[0] == "ok"


def test_weak_configuration_is_reported(db, data_dir, tmp_path, monkeypatch, settings):
    key = data_dir / "master.key"
    key.write_bytes(b"k" * 32)
    key.chmod(0o644)
    settings.ETANCHE_MASTER_KEY = f"file://{key}"
    settings.DEBUG = True
    settings.SESSION_COOKIE_SECURE = False
    db = data_dir / "etanche.sqlite3"
    db.write_bytes(audit.SQLITE_HEADER)
    monkeypatch.setattr(audit, "_database_files", lambda: [db])
    exports = data_dir / "exports"
    exports.mkdir()
    old = exports / "42.age"
    old.write_bytes(b"age-encryption.org/v1\n")
    past = time.time() - 40 * 86400
    os.utime(old, (past, past))
    findings = audit.check_configuration(export_days=30, key_days=365)
    kinds = {(f.kind, f.severity) for f in findings}
    assert ("permissions", audit.HIGH) in kinds  # the master key readable by others
    assert ("master_key_beside_db", audit.MEDIUM) in kinds
    assert ("debug", audit.HIGH) in kinds and ("tls", audit.HIGH) in kinds
    assert ("old_export", audit.MEDIUM) in kinds


def test_the_secret_key_in_another_process_environment_is_found(settings):
    secret = os.urandom(24).hex()
    settings.SECRET_KEY = secret
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                             env={"PATH": os.environ.get("PATH", ""), "LEAKED": secret})
    try:
        time.sleep(0.2)
        found = audit.scan_other_processes()
        assert [f.where for f in found] == [f"processus {child.pid}"]
    finally:
        child.kill()
        child.wait()


def test_the_command_exits_non_zero_on_a_high_finding_and_the_page_shows_it(
        data_dir, tmp_path, world):
    (data_dir / "leak.txt").write_text(PLANTS["nir"])
    with pytest.raises(CommandError, match="gravité haute"):
        call_command("audit", "--temp-dir", str(tmp_path / "none"))
    report = audit_report.load()
    assert report["high"] >= 1 and oct(audit_report.path().stat().st_mode)[-3:] == "600"
    page = sign_in(Client(), world.labadmin).get(reverse("audit_last")).content.decode()
    assert "gravité haute" in page and "leak.txt" in page and PLANTS["nir"] not in page


@pytest.mark.once
def test_a_fresh_installation_has_no_high_finding(tmp_path):
    env = clean_env(tmp_path / "fresh", TMPDIR=str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    assert run_etanche("init", env=env).returncode == 0
    done = run_etanche("audit", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 de gravité haute" in done.stdout


def test_timestamps_packed_in_a_database_page_are_no_phone(db):
    """Found on a demo install: "...13:41:38.056194" then "2026-12-01" in the next column
    read as the phone 05 61 94 20 26."""
    page = b"\x1d2026-12-01 13:41:38.0561942026-12-01 13:41:39.060630\x00"
    assert audit.Scanner(set()).scan(page) == {}
    assert audit.Scanner(set()).scan(b"tel:06.39.98.12.34;") == {"phone": 1}
