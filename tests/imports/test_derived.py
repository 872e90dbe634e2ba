"""A previous program that kept no birthplace or sex column: both read from the NIR."""

import pytest

from etanche.imports import services as imports
from etanche.imports.mapping import NOT_DERIVED
from etanche.patients import services as patients
from etanche.synthetic.people import iter_identities
from tests.imports.helpers import OTHER_COLUMNS, other_rows, write_other_csv

pytestmark = pytest.mark.django_db

WITHOUT = [c for c in OTHER_COLUMNS if c not in ("Sexe", "Lieu naiss.")]


def _without_birthplace_and_sex(rows):
    drop = [OTHER_COLUMNS.index("Sexe"), OTHER_COLUMNS.index("Lieu naiss.")]
    return [[cell for i, cell in enumerate(row) if i not in drop] for row in rows]


def _file(tmp_path, n=12, header=WITHOUT, rows=None):
    rows = rows if rows is not None else _without_birthplace_and_sex(other_rows(n, seed=7))
    return write_other_csv(tmp_path / "sans_lieu.csv", rows, header=header)


def test_the_proposal_says_what_it_reads_from_the_nir(tmp_path):
    plan = imports.plan(_file(tmp_path), "patients")
    assert plan.mapping.derived == {"birthplace_code": "nir", "sex": "nir"}
    assert "  déduit du NIR -> birthplace_code (lieu de naissance)" in plan.mapping.describe()


def test_rows_without_those_columns_import_with_the_nir_s_birthplace_and_sex(world, tmp_path):
    path = _file(tmp_path)
    report = imports.import_patients(world.lab_a, world.labadmin, path,
                                     imports.plan(path, "patients"))
    assert (report.rows, report.imported, report.rejected) == (12, 12, [])
    for person in iter_identities(12, 7):
        [found] = patients.search(world.lab_a, world.frontdesk, nir=person.ins).results
        fields = patients.get_patient(world.lab_a, world.frontdesk, found.id).fields
        assert fields["birthplace_code"] == person.birthplace_code == person.ins[5:10]
        assert fields["sex"] == person.sex
        assert fields["identity_status"] == "PROV"


def test_a_file_with_the_columns_derives_nothing(tmp_path):
    path = write_other_csv(tmp_path / "complet.csv", other_rows(5))
    assert imports.plan(path, "patients").mapping.derived == {}


def test_a_mapping_file_can_refuse_the_derivation(world, tmp_path):
    toml = tmp_path / "m.toml"
    toml.write_text('[derived]\nbirthplace_code = ""\n', encoding="utf-8")
    path = _file(tmp_path, n=3)
    plan = imports.plan(path, "patients", str(toml))
    assert plan.mapping.derived == {"sex": "nir"}
    report = imports.import_patients(world.lab_a, world.labadmin, path, plan, dry_run=True)
    assert ("birthplace_code", "Ce champ est obligatoire.") in {
        (r["field"], r["reason"]) for r in report.rejected}
    assert {r["row"] for r in report.rejected} == {1, 2, 3}


def test_a_row_whose_nir_is_wrong_is_refused_for_its_nir(world, tmp_path):
    rows = _without_birthplace_and_sex(other_rows(3, seed=7))
    nir_at = WITHOUT.index("N° SS")
    rows[1][nir_at] = rows[1][nir_at][:-2] + ("00" if not rows[1][nir_at].endswith("00")
                                              else "01")
    path = _file(tmp_path, rows=rows)
    report = imports.import_patients(world.lab_a, world.labadmin, path,
                                     imports.plan(path, "patients"), dry_run=True)
    assert {r["row"] for r in report.rejected} == {2}
    assert any(r["field"] == "nir" and "clé" in r["reason"] for r in report.rejected)
    # The two fields the file never had are not "required": they could not be read.
    derived = {r["field"]: r["reason"] for r in report.rejected if r["field"] != "nir"}
    assert derived == {"birthplace_code": NOT_DERIVED, "sex": NOT_DERIVED}


@pytest.mark.parametrize("written", ["1,85037E+14", "1.85037E14", "2E+14"])
def test_a_nir_a_spreadsheet_turned_into_a_number_is_refused_for_that(world, tmp_path, written):
    rows = list(other_rows(2, seed=7))
    rows[0][OTHER_COLUMNS.index("N° SS")] = written
    path = write_other_csv(tmp_path / "tableur.csv", rows)
    report = imports.import_patients(world.lab_a, world.labadmin, path,
                                     imports.plan(path, "patients"), dry_run=True)
    [nir] = [r for r in report.rejected if r["field"] == "nir"]
    assert nir["row"] == 1 and "notation scientifique" in nir["reason"]
    assert written not in nir["reason"]
