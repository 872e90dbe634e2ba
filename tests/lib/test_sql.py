"""lib/sql.py: several inserts in one round trip, all or nothing, on both databases."""

import itertools

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext
from stdnum import luhn

from etanche.journal import services as journal
from etanche.journal.models import Action, Chain, Entry
from etanche.labs.models import Lab
from etanche.labs.services import create_lab
from etanche.lib import sql
from etanche.orders.models import CatalogueTest


def _tests(lab, *codes):
    return [CatalogueTest(lab=lab, code=c, label=f"Essai {c}", origin="local", specimen="edta")
            for c in codes]


_serial = itertools.count(1)


@pytest.fixture
def make_lab(db):
    def make():
        body = f"99{next(_serial) + 500:06d}"
        return create_lab(f"sql-{body}", "Laboratoire d'essai", body + luhn.calc_check_digit(body))
    return make


@pytest.fixture
def lab(make_lab):
    return make_lab()


def test_insert_statement_is_what_bulk_create_would_insert(lab):
    sql.together([sql.insert_statement(_tests(lab, "X01", "X02"))])
    rows = CatalogueTest.objects.filter(lab=lab, code__startswith="X").order_by("code")
    assert [(t.code, t.label) for t in rows] == [("X01", "Essai X01"), ("X02", "Essai X02")]


def test_writes_and_a_final_select_take_one_round_trip_on_postgresql(lab):
    writes = [sql.insert_statement(_tests(lab, "X01")), sql.insert_statement(_tests(lab, "X02"))]
    with CaptureQueriesContext(connection) as sent, transaction.atomic():
        rows = sql.together(writes, ("SELECT %s", [7]))
    assert rows == [(7,)]
    statements = [q for q in sent.captured_queries
                  if q["sql"].split()[0] not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]
    assert len(statements) == (1 if connection.vendor == "postgresql" else 3)
    assert CatalogueTest.objects.filter(lab=lab, code__in=["X01", "X02"]).count() == 2


def test_a_failing_write_leaves_nothing(lab):
    # The second insert breaks the (lab, code) uniqueness: the first must not stay either.
    writes = [sql.insert_statement(_tests(lab, "X01")), sql.insert_statement(_tests(lab, "X01"))]
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.together(writes)
    assert not CatalogueTest.objects.filter(lab=lab, code="X01").exists()


def test_journal_writes_travel_with_the_entry_and_roll_back_with_it(lab):
    class Boom(Exception):
        pass

    before = Entry.objects.count()
    with pytest.raises(Boom), transaction.atomic():  # noqa: PT012
        journal.record(lab=lab, user=None, action=Action.CREATE, object_type="test",
                       along=[sql.insert_statement(_tests(lab, "X03"))])
        assert CatalogueTest.objects.filter(lab=lab, code="X03").exists()
        raise Boom
    assert Entry.objects.count() == before
    assert not CatalogueTest.objects.filter(lab=lab, code="X03").exists()

    journal.record(lab=lab, user=None, action=Action.CREATE, object_type="test",
                   along=[sql.insert_statement(_tests(lab, "X03"))])
    assert CatalogueTest.objects.filter(lab=lab, code="X03").exists()
    [report] = journal.verify(lab)
    assert report.problem is None


def test_journal_writes_reach_a_lab_chain_not_started_yet(make_lab):
    fresh = make_lab()
    Entry.objects.filter(lab_id=fresh.pk).delete()
    Chain.objects.filter(lab_id=fresh.pk).delete()
    journal.record(lab=fresh, user=None, action=Action.CREATE, object_type="test",
                   along=[sql.insert_statement(_tests(fresh, "X04"))])
    assert CatalogueTest.objects.filter(lab=fresh, code="X04").count() == 1
    [report] = journal.verify(fresh)
    assert (report.problem, report.entries) == (None, 2)  # start marker + the entry
    assert Lab.objects.filter(pk=fresh.pk).exists()


def _fixed_now():
    from datetime import UTC, datetime
    return datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize("rows", [1, 3])
def test_kept_text_inserts_what_the_compiler_would(lab, rows, monkeypatch):
    """One row: the compiler's own text and values. Several: PostgreSQL's compiler sends
    arrays (UNNEST), the kept text one multi-row VALUES; the rows stored are the same."""
    from django.db.models.sql import InsertQuery

    from etanche.patients.models import Patient, PatientIndex

    monkeypatch.setattr("django.utils.timezone.now", _fixed_now)
    patients = [Patient(lab=lab) for _ in range(rows)]
    for patient in patients:
        patient.set_sealed({"synthetic": True})
    samples = [
        _tests(lab, *[f"Y{i:02d}" for i in range(rows)]),
        patients,
        [PatientIndex(lab=lab, patient=patients[0], name="surname", value=i) for i in range(rows)],
    ]
    written, checks = [], []
    for objs in samples:
        model = type(objs[0])
        fields = [f for f in model._meta.local_concrete_fields
                  if not f.generated and f is not model._meta.pk]
        fast = sql.insert_statement(objs)
        assert _comparable(sql.insert_statement(objs)) == _comparable(fast)  # kept text
        if rows == 1:
            query = InsertQuery(model)
            query.insert_values([f for f in model._meta.local_concrete_fields
                                 if not f.generated and (objs[0].pk or f is not model._meta.pk)],
                                objs)
            [compiled] = query.get_compiler(connection=connection).as_sql()
            assert _comparable(fast) == _comparable(compiled), model
        written.append(fast)
        checks.append((model, fields,
                       sorted(tuple(getattr(o, f.attname) for f in fields) for o in objs)))
    sql.together(written)
    for model, fields, expected in checks:
        stored = model.objects.filter(lab=lab).values_list(*[f.attname for f in fields])
        stored = sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                        for row in stored)
        assert [row for row in stored if row in expected] == expected, model


def _comparable(statement):
    # psycopg wraps bytes (Binary) without an __eq__: compare what it wraps.
    text, params = statement
    return text, [getattr(p, "obj", p) for p in params]


def test_an_expression_value_takes_the_compilers_path(lab):
    test = _tests(lab, "Z01")[0]
    test.label = Upper(Value("essai z"))
    text, _ = sql.insert_statement([test])
    assert "UPPER" in text
    sql.together([(text, _)])
    assert CatalogueTest.objects.get(lab=lab, code="Z01").label == "ESSAI Z"


def test_awkward_values_survive_the_combined_statement(lab):
    """On PostgreSQL the statements are bound one by one, then sent as one: quotes,
    percent signs, placeholders in values, NULL and bytes must arrive as given."""
    awkward = ["100 % d'O'Brien", "%s %(x)s %%", "\\'; DROP TABLE x; --"]
    tests = _tests(lab, "W01", "W02", "W03")
    for test, label in zip(tests, awkward, strict=True):
        test.label = label
    with transaction.atomic():
        rows = sql.together([sql.insert_statement(tests)],
                            ("SELECT %s, %s, %s", ["%s", None, b"\x00'\\"]))
    assert [(r[0], r[1], bytes(r[2])) for r in rows] == [("%s", None, b"\x00'\\")]
    stored = dict(CatalogueTest.objects.filter(lab=lab, code__startswith="W")
                  .values_list("code", "label"))
    assert stored == {"W01": awkward[0], "W02": awkward[1], "W03": awkward[2]}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg cursors only")
def test_binding_works_behind_a_server_side_binding_cursor(db):
    """A server-side binding cursor has no mogrify: the values are quoted all the same."""
    import psycopg

    connection.ensure_connection()

    class Wrapper:
        cursor = psycopg.Cursor(connection.connection)

    assert sql._binder(Wrapper())("SELECT %s, %s", ["l'été", 3]) == "SELECT 'l''été', 3"
