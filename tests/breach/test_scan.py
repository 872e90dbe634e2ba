"""Scans of reshaped synthetic leaks: recall, no foreign match, every format, compressed."""

import pytest

from etanche.breach.scan import scan_file
from etanche.patients.models import Patient
from etanche.synthetic import people
from tests.breach import leaks
from tests.breach.conftest import OURS

FOREIGN = 80


def ours_and_foreign():
    ours = list(people.envelopes(OURS, seed=181))
    foreign = list(people.envelopes(FOREIGN, seed=9_181))
    mixed, truth = [], []
    for i, env in enumerate(ours):
        mixed.append(env)
        truth.append(True)
        if i % 3 == 0 and foreign:
            mixed.append(foreign.pop())
            truth.append(False)
    mixed += foreign
    truth += [False] * len(foreign)
    return mixed, truth


FORMATS = {
    "csv": lambda rows: leaks.as_csv(rows),
    "csv-cp1252-gzip": lambda rows: leaks.gzipped(leaks.as_csv(rows, delimiter=",",
                                                               encoding="cp1252")),
    "json": lambda rows: leaks.as_json(rows),
    "ndjson-zip": lambda rows: leaks.zipped(leaks.as_json(rows, lines=True), "x.ndjson"),
    "mysql": lambda rows: leaks.as_mysql(rows),
    "pg-copy-gzip": lambda rows: leaks.gzipped(leaks.as_pg_copy(rows)),
    "xlsx": lambda rows: leaks.as_xlsx(rows),
    "xlsx-zip": lambda rows: leaks.zipped(leaks.as_xlsx(rows), "x.xlsx"),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_reshaped_leak_found_and_foreign_rows_left(lab, tmp_path, fmt):
    envs, truth = ours_and_foreign()
    path = tmp_path / "leak"
    path.write_bytes(FORMATS[fmt](leaks.rows_of(envs)))
    result = scan_file(lab, path)
    public = result.public
    assert public["rows"] == len(envs)
    ours_rows = {i + 1 for i, mine in enumerate(truth) if mine}
    matched = set(public["matched_rows"])
    assert not matched - ours_rows, "a foreign row was matched"
    assert len(matched & ours_rows) >= 0.99 * len(ours_rows)
    assert public["matched_patients"] >= 0.99 * OURS
    ids = set(Patient.objects.for_lab(lab).values_list("pk", flat=True))
    assert set(result.patient_ids) <= ids
    categories = {c["category"] for c in public["columns"]}
    assert {"nir", "full_name", "birth_date", "phone", "email", "blood_group"} <= categories


def test_only_foreign_people_match_nobody(lab, tmp_path):
    foreign = list(people.envelopes(120, seed=77_181))
    path = tmp_path / "foreign.csv"
    path.write_bytes(leaks.as_csv(leaks.rows_of(foreign)))
    public = scan_file(lab, path).public
    assert public["rows"] == 120
    assert public["matched_rows"] == []
    assert public["matched_patients"] == 0


def test_nir_column_dropped_still_found_by_name_and_date(lab, tmp_path):
    ours = list(people.envelopes(OURS, seed=181))
    rows = [row[1:] for row in leaks.rows_of(ours)]
    path = tmp_path / "sans-nir.csv"
    path.write_bytes(leaks.as_csv(rows, header=leaks.HEADER[1:]))
    public = scan_file(lab, path).public
    assert public["matched_patients"] >= 0.98 * OURS
    assert "nir" not in public["evidence"]


def test_a_file_without_header_row_keeps_its_first_row(lab, tmp_path):
    ours = list(people.envelopes(OURS, seed=181))[:50]
    data = leaks.as_csv(leaks.rows_of(ours)).split(b"\r\n", 1)[1]  # the header line dropped
    path = tmp_path / "sans-entete.csv"
    path.write_bytes(data)
    public = scan_file(lab, path).public
    assert public["rows"] == 50
    assert public["matched_rows"] == list(range(1, 51))
    assert [c["header"] for c in public["columns"]][:2] == ["colonne 1", "colonne 2"]


def test_a_namesake_born_the_same_day_with_another_nir_is_not_the_patient(lab, tmp_path):
    ours = list(people.envelopes(OURS, seed=181))[:10]
    strangers = list(people.envelopes(10, seed=55_181))
    namesakes = [dict(stranger, birth_name=mine["birth_name"], used_name="",
                      first_names=mine["first_names"], birth_date=mine["birth_date"])
                 for mine, stranger in zip(ours, strangers, strict=True)]
    path = tmp_path / "homonymes.csv"
    path.write_bytes(leaks.as_csv(leaks.rows_of(namesakes)))
    public = scan_file(lab, path).public
    assert public["matched_rows"] == []
