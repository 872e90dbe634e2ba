"""CSV cells cannot become spreadsheet formulas."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etanche.exports import crypto
from etanche.exports.csv_layout import DANGEROUS_START, neutralise
from etanche.patients import services as patients
from tests.exports.helpers import decrypt, produced


@given(st.text())
def test_no_neutralised_cell_starts_with_a_formula_character(text):
    out = neutralise(text)
    assert not out.startswith(DANGEROUS_START)
    assert out.removeprefix("'") == text if text.startswith(DANGEROUS_START) else out == text


@pytest.mark.usefixtures("with_patients")
def test_it_neutralises_formulas_in_a_real_export(world, key):
    identity, recipient = key
    patient = world.patients[0]
    patients.update_patient(world.lab_a, world.frontdesk, patient.pk,
                            {"notes": '=HYPERLINK("http://evil.example","x")',
                             "city": "@SUM(1+1)", "street": "-2+3 rue du Test"})
    export = produced(world, recipient, fmt="csv", selection="list", ids=[patient.pk])
    text = decrypt(crypto.exports_dir() / export.file_name, identity).decode("utf-8-sig")
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["patient_id"] == str(patient.pk))
    assert row["notes"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["city"] == "'@SUM(1+1)" and row["street"] == "'-2+3 rue du Test"
    assert row["phones"].startswith("'+33")
    for r in csv.DictReader(io.StringIO(text)):
        assert not any(v.startswith(DANGEROUS_START) for v in r.values())
