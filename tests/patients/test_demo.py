"""The demo bulk path: deterministic, valid, one journal entry per batch, no query per row."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from etanche.journal.models import Action, Entry
from etanche.ops import demo
from etanche.patients import bulk, intake
from etanche.patients import services as patients
from etanche.patients.models import Patient, PatientIndex
from etanche.synthetic.people import envelope_of, generate
from tests.personas import make_lab


def _envelopes(lab) -> list[dict]:
    rows = Patient.objects.for_lab(lab)
    return sorted((row.get_sealed() for row in rows), key=lambda env: env["ins"])


@pytest.mark.django_db
def test_it_is_deterministic_for_a_seed():
    lab_a, lab_b, lab_c = make_lab("det-a"), make_lab("det-b"), make_lab("det-c")
    bulk.bulk_register(lab_a, map(envelope_of, generate(120, seed=3)), batch=50)
    bulk.bulk_register(lab_b, map(envelope_of, generate(120, seed=3)), batch=70)
    bulk.bulk_register(lab_c, map(envelope_of, generate(120, seed=4)), batch=50)
    assert _envelopes(lab_a) == _envelopes(lab_b)
    assert _envelopes(lab_a) != _envelopes(lab_c)


@pytest.mark.django_db
def test_it_creates_valid_searchable_patients():
    lab = make_lab("valid")
    people = generate(300, seed=11)
    assert bulk.bulk_register(lab, map(envelope_of, people), batch=128) == 300
    for env in _envelopes(lab):
        again = intake.clean(intake.as_input(env)).envelope
        assert again == env
    target = people[123]
    by_nir = patients.search(lab, None, nir=target.ins)
    assert [s.birth_name for s in by_nir.results] == [target.birth_name]
    by_name = patients.search(lab, None, name=target.birth_name,
                              birth_date=target.birth_date.isoformat())
    assert by_nir.results[0].id in [s.id for s in by_name.results]
    assert patients.search(lab, None, phone=target.phone).total >= 1


@pytest.mark.django_db
def test_it_journals_one_entry_per_batch_and_runs_no_query_per_row():
    lab = make_lab("batches")
    with CaptureQueriesContext(connection) as small:
        bulk.bulk_register(lab, map(envelope_of, generate(100, seed=1)), batch=100)
    with CaptureQueriesContext(connection) as large:
        bulk.bulk_register(lab, map(envelope_of, generate(1000, seed=2)), batch=1000)
    # Ten times the rows: a constant number of statements more on PostgreSQL (COPY), a few
    # on SQLite, whose bulk_create splits at 999 parameters (80 patients or 250 side-index
    # rows a statement): far from one per row either way.
    more = len(large.captured_queries) - len(small.captured_queries)
    assert more <= (2 if connection.vendor == "postgresql" else 1000 // 20)
    entries = Entry.objects.filter(lab_id=lab.pk, action=Action.CREATE, object_type="patient")
    assert [json.loads(e.detail) for e in entries.order_by("seq")] == [
        {"count": 100, "source": "demo"}, {"count": 1000, "source": "demo"}]
    assert Patient.objects.for_lab(lab).count() == 1100
    assert PatientIndex.objects.filter(lab=lab, name="surname").count() >= 1100


@pytest.mark.django_db
def test_demo_creates_the_lab_its_staff_and_patients():
    result = demo.create_demo(patients=50, seed=5)
    assert result.patients == 50 and len(result.accounts) == 5
    assert Patient.objects.for_lab(result.lab).count() == 50
    other = demo.create_demo(patients=20, seed=5, slug="bench")
    assert other.accounts == [] and other.lab.finess != result.lab.finess
    expected = [envelope_of(i) for i in generate(20, seed=5)]
    assert _envelopes(other.lab) == sorted(expected, key=lambda env: env["ins"])
