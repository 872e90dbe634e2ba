"""Writings other programs use that the registration form never sees: a NIR in two columns,
a birth year on two digits, a FHIR Patient without its birthplace."""

import json

import pytest

from etanche.imports import services as imports
from etanche.imports.mapping import NOT_DERIVED, TWO_DIGIT_BIRTH_YEAR
from etanche.patients import services as patients
from etanche.synthetic.people import iter_identities
from tests.imports.helpers import OTHER_COLUMNS, other_rows, write_other_csv

pytestmark = pytest.mark.django_db

NIR_AT = OTHER_COLUMNS.index("N° SS")
DATE_AT = OTHER_COLUMNS.index("Date Naiss.")


def _split_key(rows, key_header="Clé"):
    """The NIR's 13 characters in its column, its key in the next one."""
    header = [*OTHER_COLUMNS[:NIR_AT + 1], key_header, *OTHER_COLUMNS[NIR_AT + 1:]]
    out = []
    for row in rows:
        number = row[NIR_AT].replace(" ", "")
        out.append([*row[:NIR_AT], number[:13], number[13:].lstrip("0") or "0",
                    *row[NIR_AT + 1:]])
    return header, out


def test_a_nir_kept_in_two_columns_is_one_number_again(world, tmp_path):
    header, rows = _split_key(other_rows(6, seed=7))
    path = write_other_csv(tmp_path / "cle.csv", rows, header=header)
    plan = imports.plan(path, "patients")
    assert plan.mapping.columns["Clé"] == "nir_key"
    report = imports.import_patients(world.lab_a, world.labadmin, path, plan)
    assert (report.imported, report.rejected) == (6, [])
    for person in iter_identities(6, 7):
        assert patients.search(world.lab_a, world.frontdesk, nir=person.ins).results


def test_a_key_that_is_not_the_nir_s_own_is_refused_on_its_column(world, tmp_path):
    header, rows = _split_key(other_rows(3, seed=7), key_header="Clé SS")
    rows[0][NIR_AT] = rows[0][NIR_AT] + "00"  # a whole NIR, and a key column that disagrees
    rows[0][NIR_AT + 1] = "01" if not rows[0][NIR_AT].endswith("0100") else "02"
    rows[1][NIR_AT + 1] = "1x"
    path = write_other_csv(tmp_path / "cle.csv", rows, header=header)
    report = imports.import_patients(world.lab_a, world.labadmin, path,
                                     imports.plan(path, "patients"), dry_run=True)
    keys = [r for r in report.rejected if r["field"] == "nir_key"]
    assert [(r["row"], r["column"]) for r in keys] == [(1, "Clé SS"), (2, "Clé SS")]
    assert "deux chiffres" in keys[1]["reason"]
    assert {r["row"] for r in report.rejected} == {1, 2}


def test_a_birth_year_on_two_digits_is_refused_unless_the_mapping_says_so(world, tmp_path):
    rows = list(other_rows(3, seed=7))
    day, month, year = rows[0][DATE_AT].split("/")
    rows[0][DATE_AT] = f"{day}/{month}/{year[2:]}"
    path = write_other_csv(tmp_path / "annee.csv", rows)
    report = imports.import_patients(world.lab_a, world.labadmin, path,
                                     imports.plan(path, "patients"), dry_run=True)
    assert {"row": 1, "field": "birth_date", "column": "Date Naiss.",
            "reason": TWO_DIGIT_BIRTH_YEAR} in report.rejected
    assert {r["row"] for r in report.rejected} == {1}
    # Whoever knows the century writes the format: then it is strptime's %y, as asked.
    toml = tmp_path / "m.toml"
    toml.write_text('[formats]\nbirth_date = "%d/%m/%y"\n', encoding="utf-8")
    path = write_other_csv(tmp_path / "annee.csv", [rows[0]])
    report = imports.import_patients(world.lab_a, world.labadmin, path,
                                     imports.plan(path, "patients", str(toml)), dry_run=True)
    assert all(r["field"] != "birth_date" for r in report.rejected)


def test_a_fhir_patient_without_birthplace_takes_it_from_its_nir(world, tmp_path):
    # Another system's Bundle: the INS-NIR identifier, no birthplace extension (FR Core's is
    # optional), as most FHIR servers export a French patient.
    people = list(iter_identities(3, 7))
    entries = [{"resource": {
        "resourceType": "Patient", "id": f"p{i}",
        "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": p.ins}],
        "name": [{"use": "official", "family": p.birth_name, "given": list(p.first_names)}],
        "gender": "male" if p.sex == "M" else "female",
        "birthDate": p.birth_date.isoformat()}} for i, p in enumerate(people)]
    entries[2]["resource"]["identifier"][0]["value"] = people[2].ins[:13] + (
        "00" if not people[2].ins.endswith("00") else "01")
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "transaction",
                                "entry": entries}), encoding="utf-8")
    report = imports.import_patients(world.lab_a, world.labadmin, path,
                                     imports.plan(path, "patients"), accept_valid=True)
    assert report.imported == 2
    assert {(r["row"], r["field"], r["reason"]) for r in report.rejected
            if r["field"] != "nir"} == {(3, "birthplace_code", NOT_DERIVED)}
    [found] = patients.search(world.lab_a, world.frontdesk, nir=people[0].ins).results
    fields = patients.get_patient(world.lab_a, world.frontdesk, found.id).fields
    assert fields["birthplace_code"] == people[0].ins[5:10] == people[0].birthplace_code


@pytest.mark.parametrize("written", ["-", "NC", "n/a", "Néant", "inconnu", "00 00 00 00 00"])
def test_an_optional_cell_that_says_none_is_left_empty(world, tmp_path, written):
    rows = list(other_rows(2, seed=7))
    rows[0][OTHER_COLUMNS.index("Tél. portable")] = written
    rows[0][OTHER_COLUMNS.index("Mail")] = "" if written[0] == "0" else written
    rows[1][OTHER_COLUMNS.index("NOM")] = "-"  # required: the registration's checks decide
    path = write_other_csv(tmp_path / "vides.csv", rows)
    report = imports.import_patients(world.lab_a, world.labadmin, path,
                                     imports.plan(path, "patients"), accept_valid=True)
    assert report.imported == 1
    assert {(r["row"], r["field"]) for r in report.rejected} == {(2, "birth_name")}
    first = next(iter_identities(1, 7))
    [found] = patients.search(world.lab_a, world.frontdesk, nir=first.ins).results
    fields = patients.get_patient(world.lab_a, world.frontdesk, found.id).fields
    assert (fields["phones"], fields["email"]) == ([], "")
