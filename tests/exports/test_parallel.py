"""A large export is built by several worker processes and comes out whole and in order."""

import json

import pytest

from etanche.exports import crypto, parallel, production
from etanche.watch.models import Canary
from tests.exports.helpers import age_key, decrypt, full_patients, produced
from tests.personas import build_world


@pytest.fixture
def committed_world(transactional_db):
    # Workers are other processes: they only see committed rows.
    world = build_world()
    world.patients = full_patients(world.lab_a, world.frontdesk, n=7)
    return world


def _patient_ids(lines):
    resources = [json.loads(line) for line in lines if line]
    return [r["id"] for r in resources if r["resourceType"] == "Patient"]


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_workers_produce_the_same_rows_in_order_with_one_canary(
    committed_world, settings, monkeypatch, fmt
):
    world = committed_world
    identity, recipient = age_key()
    monkeypatch.setattr(production, "BATCH", 2)  # 4 batches for 7 patients
    settings.ETANCHE_EXPORT_PARALLEL_MIN = 1
    settings.ETANCHE_EXPORT_WORKERS = 2
    assert parallel.workers_for(7) == 2

    export = produced(world, recipient, fmt=fmt)

    text = decrypt(crypto.exports_dir() / export.file_name, identity).decode("utf-8-sig")
    lines = text.splitlines()
    assert export.rows == 8  # 7 patients and the canary
    canary = Canary.objects.get(export_id=export.pk)
    if fmt == "ndjson":
        ids = _patient_ids(lines)
        assert len(ids) == 8
        real = [i for i in ids if i != str(canary.pk)]
        assert real == sorted(real, key=int)  # the patients' order survives the workers
        assert real == [str(p.pk) for p in sorted(world.patients, key=lambda p: p.pk)]
    else:
        assert len(lines) == 1 + 8  # header and one row each


def test_small_exports_and_open_transactions_stay_in_one_process(settings, db):
    settings.ETANCHE_EXPORT_PARALLEL_MIN = 1000
    settings.ETANCHE_EXPORT_WORKERS = 2
    assert parallel.workers_for(999) == 1
    settings.ETANCHE_EXPORT_PARALLEL_MIN = 1
    # The db fixture wraps the test in a transaction the workers could not see.
    assert parallel.workers_for(5000) == 1
