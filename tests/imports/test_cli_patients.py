"""`etanche import patients`: the "Done when" scenario at small scale, and the contract."""

import io
import json
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from etanche.imports.models import ImportedRecord
from etanche.journal import actor
from etanche.journal.models import Action, Entry
from etanche.patients import services as patients
from etanche.patients.models import Patient
from etanche.synthetic.people import iter_identities
from tests.imports.helpers import other_rows, run_import, write_other_csv


@pytest.fixture
def other_csv(tmp_path):
    rows = list(other_rows(60))
    rows[4][6] = rows[4][6][:-1] + ("0" if rows[4][6][-1] != "0" else "1")  # wrong NIR key
    rows[9][3] = "31/02/1980"  # no such day
    rows[14][4] = "X"  # unknown sex code
    rows[19][7] = "12"  # not a phone
    rows[24][1] = ""  # no birth name
    return write_other_csv(tmp_path / "export_ancien.csv", rows), rows


def test_it_reports_every_bad_row_then_imports_nothing_then_the_valid_ones(
        world, monkeypatch, other_csv):
    path, rows = other_csv
    out, _ = run_import(monkeypatch, world.labadmin, "patients", str(path), "--lab", "lab-a",
                        "--dry-run")
    assert "'N° SS' -> nir" in out and "'Date Naiss.' -> birth_date" in out
    assert "'NOM' -> birth_name" in out and "'Sexe' -> sex" in out
    assert "'N° dossier' -> source_id" in out and "'Tél. portable' -> phone" in out
    for row, name in ((5, "nir"), (10, "birth_date"), (15, "sex"), (20, "phone"),
                      (25, "birth_name")):
        assert f"ligne {row} : {name}" in out
    assert "La clé du NIR ne correspond pas. Vérifiez" in out  # the expected key is not shown
    assert "essai à blanc" in out and Patient.objects.for_lab(world.lab_a).count() == 0

    with pytest.raises(CommandError) as refused:
        run_import(monkeypatch, world.labadmin, "patients", str(path), "--lab", "lab-a")
    assert refused.value.returncode == 3 and Patient.objects.for_lab(world.lab_a).count() == 0

    out, _ = run_import(monkeypatch, world.labadmin, "patients", str(path), "--lab", "lab-a",
                        "--accept-valid", "--json")
    report = json.loads(out)
    assert set(report) == {"rows", "imported", "rejected", "duplicates", "elapsed_s"}
    assert report["rows"] == 60 and report["imported"] == 55
    assert sorted({r["row"] for r in report["rejected"]}) == [5, 10, 15, 20, 25]
    assert {"row": 5, "field": "nir", "column": "N° SS"}.items() <= report["rejected"][0].items()
    assert Patient.objects.for_lab(world.lab_a).count() == 55
    # Found by search as registered ones are (NIR, name + birth date, phone).
    third = next(p for i, p in enumerate(iter_identities(60, 7)) if i == 2)
    assert patients.search(world.lab_a, world.frontdesk, nir=third.ins).results
    found = patients.search(world.lab_a, world.frontdesk, name=third.birth_name,
                            birth_date=third.birth_date.isoformat())
    assert len(found.results) >= 1
    record = patients.get_patient(world.lab_a, world.frontdesk, found.results[0].id)
    assert record.fields["identity_status"] == "PROV"
    # Nothing written beside the source.
    assert sorted(p.name for p in path.parent.iterdir()) == ["export_ancien.csv"]

    # Re-run: each row once.
    out, _ = run_import(monkeypatch, world.labadmin, "patients", str(path), "--lab", "lab-a",
                        "--accept-valid", "--json")
    assert json.loads(out)["imported"] == 0
    assert Patient.objects.for_lab(world.lab_a).count() == 55
    assert ImportedRecord.objects.for_lab(world.lab_a).count() == 55
    entries = Entry.objects.filter(lab_id=world.lab_a.pk, action=Action.IMPORT)
    assert entries.count() >= 5 and all("file_sha256" in e.detail for e in entries)
    assert all(third.birth_name not in e.detail for e in entries)


def test_it_needs_the_import_permission_and_the_code(world, monkeypatch, other_csv):
    path, _ = other_csv
    with pytest.raises(CommandError, match="lacks the import.run permission"):
        run_import(monkeypatch, world.frontdesk, "patients", str(path), "--lab", "lab-a")
    with pytest.raises(CommandError, match="lacks"):
        run_import(monkeypatch, world.labadmin, "patients", str(path), "--lab", "lab-b")


def test_bad_files_end_in_one_line(world, monkeypatch, tmp_path):
    empty = tmp_path / "vide.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="Le fichier est vide"):
        run_import(monkeypatch, world.labadmin, "patients", str(empty), "--lab", "lab-a")
    with pytest.raises(CommandError, match="no such file"):
        run_import(monkeypatch, world.labadmin, "patients", str(tmp_path / "absent.csv"),
                   "--lab", "lab-a")


def test_without_by_patients_are_imported_as_the_server_s_operator(world, monkeypatch, tmp_path):
    # The issue's own command line: no --by. The entries then name the OS user and the
    # declared operator, as `etanche patients add` does (journal.actor).
    monkeypatch.setattr(actor, "_cli", True)
    monkeypatch.setenv("ETANCHE_OPERATOR", "Claire Dubois")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    path = write_other_csv(tmp_path / "ancien.csv", other_rows(8))
    out = io.StringIO()
    call_command("import", "patients", str(path), "--lab", "lab-a", "--mapping", "auto",
                 "--json", stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue())["imported"] == 8
    entries = Entry.objects.filter(lab_id=world.lab_a.pk, action=Action.IMPORT)
    assert {e.actor for e in entries} == {actor.describe()}
    assert actor.describe().startswith("cli:") and "(Claire Dubois)" in actor.describe()


def test_past_requests_need_a_named_member(world, tmp_path):
    path = write_other_csv(tmp_path / "demandes.csv", other_rows(2))
    with pytest.raises(CommandError, match="--by"):
        call_command("import", "requests", str(path), "--lab", "lab-a",
                     stdout=io.StringIO(), stderr=io.StringIO())
