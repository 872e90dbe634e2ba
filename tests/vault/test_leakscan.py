"""No plaintext identity in the raw database, and the scanner itself proven to see plaintext."""

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from etanche.ops.labs import create_lab
from etanche.vault import services as vault
from tests.leakscan import files_under, find_leaks, raw_database_bytes, variants
from tests.sealedapp.models import Note, Person

# Synthetic people only; values chosen to be unlikely by chance in a database file.
PEOPLE = [
    {
        "birth_name": f"QUARTENAY-{i:03d}",
        "first_names": ["Éloïse", f"Maëlys{i}"],
        "nir": f"2840299{i:03d}45611"[:15],
        "phone": f"+3363998{i:04d}",
        "email": f"eloise.quartenay{i}@exemple.invalid",
        "address": f"{i} impasse des Glycines-Synthétiques",
        "notes": f"Traitement anticoagulant fictif n°{i}",
    }
    for i in range(40)
]


def _needles():
    return [v for p in PEOPLE for v in (p["birth_name"], p["nir"], p["phone"], p["email"],
                                          p["address"], p["notes"], p["first_names"][1])]


@pytest.mark.django_db(transaction=True)
def test_it_leaves_no_plaintext_identity_in_the_raw_database():
    lab = create_lab("leak-lab", "Laboratoire Témoin-Scanner", "990000002")
    people = [Person(lab=lab) for _ in PEOPLE]
    tokens = vault.seal_many(lab, Person.record_type(), [
        (p.pk, fields, p.current_binding()) for p, fields in zip(people, PEOPLE, strict=True)
    ])
    for person, token, fields in zip(people, tokens, PEOPLE, strict=True):
        person.sealed, person.key_version = token, 1
        person.nir_index = vault.blind_index(lab, "nir", fields["nir"])
        person.surname_index = vault.blind_index(lab, "surname", fields["birth_name"])
    Person.objects.bulk_create(people)
    note = Note(lab=lab)
    note.set_sealed({"text": PEOPLE[0]["notes"]})
    note.save()

    blob = raw_database_bytes()

    # The scanner sees clear text when there is some: the lab's name is stored in clear.
    assert find_leaks(blob, ["Laboratoire Témoin-Scanner"])
    assert find_leaks(blob, _needles()) == []


def test_it_checks_common_encodings():
    forms = variants("Éloïse")
    assert "ÉLOÏSE".encode() in forms
    assert b"Eloise" in forms
    assert "Éloïse".encode("utf-16-le") in forms
    assert find_leaks(b"xx" + "ELOISE".encode("utf-16-be") + b"yy", ["Éloïse"])
    assert find_leaks(b"xx" + base64.b64encode("Éloïse".encode()) + b"yy", ["Éloïse"])


# Another process opening and closing the database, as a CLI the test runs does.
_OTHER_PROCESS = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
                  "db.execute('select count(*) from sqlite_master').fetchall(); db.close()")


@pytest.mark.django_db(transaction=True)
def test_scanning_the_database_files_leaves_this_process_sqlite_locks_held(tmp_path):
    """Reading the SQLite files in this process dropped its connection's POSIX locks: the
    next process to close its own connection, believing itself the last, deleted the WAL
    under ours (the kill tests then saw stale counts and "database disk image is
    malformed"). The scan now reads them from a child process."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's locks only")
    create_lab("scan-locks", "Laboratoire des verrous", "990000010")  # a commit: WAL written
    wal = Path(f"{connection.settings_dict['NAME']}-wal")
    assert wal.exists()
    raw_database_bytes()
    files_under([wal.parent])
    subprocess.run([sys.executable, "-c", _OTHER_PROCESS, connection.settings_dict["NAME"]],
                   check=True)
    assert wal.exists(), "the WAL was deleted under this process's open connection"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA quick_check")
        assert cursor.fetchone()[0] == "ok"
