"""Import of patients at the service level: formats, mapping, checks, duplicates, each row once."""

import gzip
import json
import shutil
import zipfile

import openpyxl
import pytest
from django.db import connection

from etanche.imports import services as imports
from etanche.imports.mapping import MappingError
from etanche.imports.models import ImportedRecord
from etanche.patients import bulk
from etanche.patients import services as patients
from etanche.patients.models import Patient
from etanche.synthetic.people import iter_identities
from tests.conftest import require_system
from tests.imports.helpers import OTHER_COLUMNS, other_rows, write_other_csv
from tests.leakscan import clean_slate, find_leaks, raw_database_bytes
from tests.personas import make_lab, make_user


def run(world, path, mapping="auto", lab=None, **options):
    plan = imports.plan(path, "patients", mapping)
    return imports.import_patients(lab or world.lab_a, world.labadmin, path, plan, **options)


def count(lab) -> int:
    return Patient.objects.for_lab(lab).count()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1", "cp1252"])
def test_each_encoding_imports_the_same_people(world, tmp_path, encoding):
    path = write_other_csv(tmp_path / "f.csv", other_rows(8), encoding=encoding, delimiter=",")
    report = run(world, path)
    assert (report.rows, report.imported, report.rejected) == (8, 8, [])
    first = next(iter_identities(1, 7))
    found = patients.search(world.lab_a, world.frontdesk, nir=first.ins).results
    record = patients.get_patient(world.lab_a, world.frontdesk, found[0].id)
    assert record.fields["birth_name"] == first.birth_name.upper()
    assert record.fields["first_names"] == list(first.first_names)
    assert record.fields["city"] == first.city and record.fields["phones"] == [first.phone]
    if encoding == "utf-8":  # found as registered ones are: by phone, by name in any case
        by_phone = patients.search(world.lab_a, world.frontdesk, phone=first.phone).results
        by_name = patients.search(world.lab_a, world.frontdesk, name=first.birth_name.lower(),
                                  birth_date=first.birth_date.isoformat()).results
        assert found[0].id in {p.id for p in by_phone} & {p.id for p in by_name}


def _xlsx(path, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(OTHER_COLUMNS)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_xlsx_gzip_and_zip_import_alike(world, tmp_path):
    rows = list(other_rows(6))
    csv_path = write_other_csv(tmp_path / "f.csv", rows[:2])
    gz = tmp_path / "f.csv.gz"
    gz.write_bytes(gzip.compress(write_other_csv(tmp_path / "g.csv", rows[2:4]).read_bytes()))
    zp = tmp_path / "f.zip"
    with zipfile.ZipFile(zp, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(_xlsx(tmp_path / "h.xlsx", rows[4:]), "export/patients.xlsx")
    assert [run(world, p).imported for p in (csv_path, gz, zp)] == [2, 2, 2]
    assert count(world.lab_a) == 6


def test_ndjson_with_its_own_keys_imports_by_header(world, tmp_path):
    path = tmp_path / "f.ndjson"
    lines = [dict(zip(OTHER_COLUMNS, row, strict=True)) for row in other_rows(3)]
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines),
                    encoding="utf-8")
    assert run(world, path).imported == 3


def test_misleading_headers_are_read_by_their_content(world, tmp_path):
    header = ["Nom", "Prénom", "Téléphone", "NIR", "Commentaire", "Date", "Sexe",
              "Lieu naiss."]
    rows = [[r[1], r[2], r[6], r[7], r[8], r[3], "H" if r[4] == "1" else "F", r[5]]
            for r in other_rows(30)]
    path = write_other_csv(tmp_path / "f.csv", rows, header=header)
    plan = imports.plan(path, "patients")
    assert plan.mapping.columns["Téléphone"] == "nir"  # full of NIRs, whatever it says
    assert plan.mapping.columns["NIR"] == "phone"
    assert plan.mapping.columns["Commentaire"] == "email"
    assert plan.mapping.columns["Date"] == "birth_date"
    assert plan.mapping.columns["Nom"] == "birth_name"
    assert plan.mapping.why["Téléphone"] == "contenu"
    assert run(world, path).imported == 30


def test_a_toml_mapping_overrides_the_proposal(world, tmp_path):
    rows = [[r[0], r[1], r[2], r[3].replace("/", "."), "7" if r[4] == "1" else "8", r[5]]
            for r in other_rows(5)]
    path = write_other_csv(tmp_path / "f.csv", rows,
                           header=["ref", "c1", "c2", "c3", "c4", "c5"])
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('''
duplicates = "skip"
[columns]
ref = "source_id"
c1 = "birth_name"
c2 = "first_names"
c3 = "birth_date"
c4 = "sex"
c5 = "birthplace_code"
[formats]
birth_date = "JJ.MM.AAAA"
[sex]
"7" = "M"
"8" = "F"
[constants]
notes = "Repris de l'ancien logiciel"
''', encoding="utf-8")
    report = run(world, path, str(mapping))
    assert (report.imported, report.rejected) == (5, [])
    record = patients.get_patient(world.lab_a, world.frontdesk,
                                  Patient.objects.for_lab(world.lab_a).first().pk)
    assert record.fields["notes"] == "Repris de l'ancien logiciel"
    mapping.write_text('[columns]\nref = "nom_inconnu"\n', encoding="utf-8")
    with pytest.raises(MappingError, match="Champ inconnu"):
        run(world, path, str(mapping))


REASONS = [
    (6, "1 85 05 78 006 084 00", "nir", "La clé du NIR ne correspond pas."),
    (3, "30/02/1990", "birth_date", "La date de naissance n'est pas une date réelle au format"),
    (3, "01/01/2999", "birth_date", "La date de naissance est dans le futur."),
    (4, "?", "sex", "Le code de sexe n'est pas reconnu"),
    (5, "00000", "birthplace_code", ""),
    (7, "12", "phone", ""),
    (8, "pas-un-courriel", "email", ""),
    (9, "123", "postal_code", "Le code postal doit comporter 5 chiffres."),
    (1, "", "birth_name", "Ce champ est obligatoire."),
    (2, "", "first_names", "Ce champ est obligatoire."),
]


@pytest.mark.parametrize(("column", "value", "field", "reason"), REASONS)
def test_each_refusal_has_its_field_and_french_reason(world, tmp_path, column, value, field,
                                                     reason):
    rows = list(other_rows(3))
    rows[1][column] = value
    report = run(world, write_other_csv(tmp_path / "f.csv", rows))
    assert report.imported == 0 and count(world.lab_a) == 0
    mine = [r for r in report.rejected if r["row"] == 2]
    assert {r["row"] for r in report.rejected} == {2}
    assert any(r["field"] == field and r["reason"].startswith(reason) for r in mine), mine
    assert all(value not in r["reason"] for r in mine if len(value) > 3)


def test_rpps_and_amo_codes_are_checked_as_on_the_form(world, tmp_path):
    header = [*OTHER_COLUMNS, "RPPS médecin", "Code régime", "Caisse"]
    rows = [[*r, "123", "1", "12"] for r in other_rows(2)]
    report = run(world, write_other_csv(tmp_path / "f.csv", rows, header=header))
    fields = {r["field"] for r in report.rejected}
    assert {"physician_rpps", "amo_regime", "amo_fund"} <= fields


def test_duplicates_in_the_file_and_in_the_lab_are_reported_and_flagged(world, tmp_path):
    rows = list(other_rows(6))
    twin = list(rows[0])
    twin[0] = "P999999"  # another id, the same NIR: the same person twice
    rows.append(twin)
    path = write_other_csv(tmp_path / "f.csv", rows)
    # One of them is already a patient of the lab, registered at the desk.
    existing_identity = list(iter_identities(6, 7))[3]
    existing = bulk.insert_batch(world.lab_a, None, [_envelope(existing_identity)], "test")[0]
    report = run(world, path)
    assert {"row": 7, "rule": "nir", "first_row": 1} in report.duplicates
    assert {"row": 4, "rule": "nir", "existing": existing} in report.duplicates
    assert report.imported == 7 and count(world.lab_a) == 8  # never merged
    flagged = ImportedRecord.objects.for_lab(world.lab_a).filter(review=True)
    assert sorted(flagged.values_list("review_rule", "review_of"), key=str) == sorted(
        [("nir", None), ("nir", existing)], key=str)


def _envelope(identity):
    from etanche.synthetic.people import envelope_of  # noqa: PLC0415 - one test uses it

    return envelope_of(identity)


def test_skip_policy_leaves_duplicates_out(world, tmp_path):
    rows = list(other_rows(3))
    rows.append([*rows[0][:1], *rows[0][1:]])
    rows[3][0] = "P777777"
    path = write_other_csv(tmp_path / "f.csv", rows)
    mapping = tmp_path / "m.toml"
    mapping.write_text('duplicates = "skip"\n', encoding="utf-8")
    report = run(world, path, str(mapping))
    assert report.imported == 3 and report.skipped == 1


def test_one_bad_row_in_ten_thousand_imports_nothing(world, tmp_path, monkeypatch):
    rows = list(other_rows(10_000, seed=3))
    rows[7_776][6] = rows[7_776][6][:-2] + "00" if not rows[7_776][6].endswith("00") else \
        rows[7_776][6][:-2] + "01"
    path = write_other_csv(tmp_path / "f.csv", rows)
    report = run(world, path)
    assert report.rows == 10_000 and report.imported == 0 and count(world.lab_a) == 0
    assert [r["row"] for r in report.rejected] == [7_777]


def test_accept_valid_and_dry_run(world, tmp_path):
    rows = list(other_rows(5))
    rows[2][3] = "99/99/1999"
    path = write_other_csv(tmp_path / "f.csv", rows)
    report = run(world, path, dry_run=True, accept_valid=True)
    assert report.imported == 0 and count(world.lab_a) == 0 and not report.written
    report = run(world, path, accept_valid=True)
    assert report.imported == 4 and count(world.lab_a) == 4


def test_a_run_killed_between_batches_is_finished_by_the_next_each_row_once(
        world, tmp_path, monkeypatch):
    path = write_other_csv(tmp_path / "f.csv", other_rows(250))
    monkeypatch.setattr(imports, "BATCH", 50)
    real = bulk.write_prepared
    calls = []

    def killed_on_the_third(lab, user, rows, sides, source):
        calls.append(len(rows))
        real(lab, user, rows, sides, source)  # the rows are written in the transaction...
        if len(calls) == 3:
            raise KeyboardInterrupt  # ...and the process dies before the batch commits

    monkeypatch.setattr(bulk, "write_prepared", killed_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        run(world, path)
    assert count(world.lab_a) == 100  # two whole batches, nothing of the third
    assert ImportedRecord.objects.for_lab(world.lab_a).count() == 100
    monkeypatch.setattr(bulk, "write_prepared", real)
    report = run(world, path)
    assert (report.imported, report.already) == (150, 100)
    assert count(world.lab_a) == 250
    nirs = [p.ins for p in iter_identities(250, 7)]
    found = [len(patients.search(world.lab_a, world.frontdesk, nir=n).results) for n in nirs[::25]]
    assert found == [1] * 10


def test_a_source_without_ids_is_recognised_by_its_traits_on_a_rerun(world, tmp_path):
    rows = [r[1:] for r in other_rows(4)]
    path = write_other_csv(tmp_path / "f.csv", rows, header=OTHER_COLUMNS[1:])
    assert run(world, path).imported == 4
    report = run(world, path)
    assert (report.imported, report.already, report.duplicates) == (0, 4, [])


@pytest.mark.django_db(transaction=True)
def test_no_plaintext_of_the_source_in_the_raw_database(tmp_path):
    if connection.vendor == "postgresql":
        require_system(shutil.which("pg_dump") is not None, "pg_dump is not installed")
    clean_slate()
    lab = make_lab("import-leak")
    admin = make_user("import.admin", lab, role="labadmin")
    rows = list(other_rows(40, seed=11))
    path = write_other_csv(tmp_path / "f.csv", rows)
    plan = imports.plan(path, "patients")
    assert imports.import_patients(lab, admin, path, plan).imported == 40
    needles = [v for r in rows[:6] for v in (r[0], r[1], r[6].replace(" ", ""), r[7], r[8])]
    assert find_leaks(raw_database_bytes(), needles) == []
