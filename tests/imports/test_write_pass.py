"""The write pass: batches written without checking each first, two at a time on PostgreSQL,
each row still taken in once."""

import threading

import pytest

from etanche.imports import services as imports
from etanche.imports.models import ImportedRecord
from etanche.imports.threads import ordered_in_threads
from etanche.patients.models import Patient, PatientIndex
from etanche.vault.errors import VaultError
from tests.imports.helpers import other_rows, write_other_csv


def run(world, path):
    plan = imports.plan(path, "patients")
    return imports.import_patients(world.lab_a, world.labadmin, path, plan)


def test_rows_another_run_took_in_after_the_check_are_skipped_not_doubled(
        world, tmp_path, monkeypatch):
    path = write_other_csv(tmp_path / "f.csv", other_rows(120))
    first = write_other_csv(tmp_path / "first.csv", other_rows(30))
    monkeypatch.setattr(imports, "BATCH", 50)
    real = imports._write_pass
    meanwhile = []

    def another_run_first(*args):
        if not meanwhile:  # between this run's check and its writes, another run
            meanwhile.append(None)
            meanwhile[0] = run(world, first)
        real(*args)

    monkeypatch.setattr(imports, "_write_pass", another_run_first)
    report = run(world, path)
    assert meanwhile[0].imported == 30
    assert (report.imported, report.already) == (90, 0)  # the check saw none of the 30
    assert Patient.objects.for_lab(world.lab_a).count() == 120
    records = ImportedRecord.objects.for_lab(world.lab_a)
    assert records.count() == records.values("digest").distinct().count() == 120


def test_threads_give_results_in_order():
    seen = set()

    def square(n):
        seen.add(threading.get_ident())
        return n * n

    assert list(ordered_in_threads(square, range(50), 2)) == [n * n for n in range(50)]
    assert threading.get_ident() not in seen


def test_after_a_failure_no_task_starts_and_the_failure_is_raised_in_its_place():
    started, results = [], []

    def work(n):
        started.append(n)
        if n == 3:
            raise ValueError("batch 3")
        return n

    def consume():
        for result in ordered_in_threads(work, range(100), 2):
            results.append(result)

    with pytest.raises(ValueError, match="batch 3"):
        consume()
    assert results == [0, 1, 2]
    assert max(started) <= 3 + 2 * 2  # at most the tasks queued when it failed


def test_side_rows_carry_their_patients_lab_and_records_open_only_in_theirs(world, tmp_path):
    """The side rows' and import records' lab has no database constraint (ADR 0007): the
    write path sets it from the patient's lab, and a record moved to another lab in the
    database no longer opens (the lab is bound into its token)."""
    report = run(world, write_other_csv(tmp_path / "f.csv", other_rows(40)))
    assert report.imported == 40
    sides = PatientIndex.objects.filter(patient__lab=world.lab_a)
    assert sides.count() >= 40
    assert not sides.exclude(lab=world.lab_a).exists()
    record = ImportedRecord.objects.for_lab(world.lab_a).first()
    assert record.get_sealed()["row"] >= 1
    ImportedRecord.objects.filter(pk=record.pk).update(lab=world.lab_b)
    moved = ImportedRecord.objects.get(pk=record.pk)
    with pytest.raises(VaultError):
        moved.get_sealed()
