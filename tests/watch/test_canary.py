"""Each export carries its own canary, shaped like a real row and traceable to the export."""

import csv
import io
import json

import pytest

from etanche.exports import crypto
from etanche.exports import services as exports
from etanche.patients import services as patients
from etanche.patients.models import Patient
from etanche.watch import services as watch
from etanche.watch.models import Canary
from tests.exports.helpers import decrypt, produced

pytestmark = pytest.mark.usefixtures("with_patients")


def _rows(export, identity):
    text = decrypt(crypto.exports_dir() / export.file_name, identity).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_canary_row_is_in_the_file_and_names_its_export(world, key):
    identity, recipient = key
    export = produced(world, recipient, fmt="csv")
    real = {str(p.pk) for p in world.patients}
    rows = _rows(export, identity)
    strangers = [r for r in rows if r["patient_id"] not in real]
    assert len(strangers) == 1
    row = strangers[0]
    assert set(row) == set(rows[0]) and all(row[k] for k in ("birth_name", "ins", "email"))
    for found in (watch.trace(world.lab_a, nir=row["ins"]),
                  watch.trace(world.lab_a, email=row["email"]),
                  watch.trace(world.lab_a, birth_name=row["birth_name"],
                              birth_date=row["birth_date"]),
                  watch.trace(world.lab_a, request_number=row["request_number"])):
        assert [c.export_id for c in found] == [export.pk]


def test_a_research_canary_is_found_by_its_pseudonym(world, key):
    identity, recipient = key
    export = produced(world, recipient, profile="research", fmt="csv")
    canary = Canary.objects.get(export_id=export.pk)
    pseudonyms = {r["pseudonym"] for r in _rows(export, identity)}
    assert canary.marker in pseudonyms
    assert [c.export_id for c in watch.trace(world.lab_a, pseudonym=canary.marker)] == [export.pk]


def test_each_export_has_its_own_canary_and_a_retry_keeps_it(world, key):
    identity, recipient = key
    first = produced(world, recipient)
    second = produced(world, recipient)
    a, b = (Canary.objects.get(export_id=e.pk) for e in (first, second))
    assert a.pk != b.pk
    assert a.get_sealed()["identity"]["ins"] != b.get_sealed()["identity"]["ins"]
    assert watch.issue_canary_for_export(first).pk == a.pk


def test_the_canary_is_never_a_patient_in_search_or_counts(world, key):
    identity, recipient = key
    before = Patient.objects.for_lab(world.lab_a).count()
    export = produced(world, recipient, fmt="ndjson")
    canary = Canary.objects.get(export_id=export.pk).get_sealed()["identity"]
    assert Patient.objects.for_lab(world.lab_a).count() == before
    page = patients.search(world.lab_a, world.frontdesk, nir=canary["ins"])
    assert list(page.results if hasattr(page, "results") else page) == []
    lines = decrypt(crypto.exports_dir() / export.file_name, identity).decode().splitlines()
    ids = [json.loads(x)["id"] for x in lines if '"resourceType":"Patient"' in x]
    assert str(Canary.objects.get(export_id=export.pk).pk) in ids


def test_the_canary_is_sealed_and_indexed(world, key):
    export = produced(world, key[1])
    canary = Canary.objects.get(export_id=export.pk)
    env = canary.get_sealed()["identity"]
    assert env["birth_name"].encode() not in bytes(canary.sealed)
    assert canary.nir_index is not None and canary.email_index is not None
    found = watch.find_canaries(world.lab_a, {"nir": [canary.nir_index]})
    assert canary in found
    assert watch.find_canaries(world.lab_b, {"nir": [canary.nir_index]}) == []
    assert exports.history(export).count() >= 3
