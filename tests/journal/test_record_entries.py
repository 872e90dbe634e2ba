"""record(entries=...): several entries under one chain lock, taken last; journal rows only."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from etanche.journal import services
from etanche.journal.models import Action, Chain, Entry
from etanche.journal.verify import verify
from etanche.orders.models import CatalogueTest


def _statements(sent):
    # The vault's check of the current key version (every VAULT_RECHECK_SECONDS) aside.
    return [q["sql"] for q in sent.captured_queries
            if q["sql"].split()[0] not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
            and "vault_labkeyset" not in q["sql"]]


def _test(lab, code):
    return CatalogueTest(lab=lab, code=code, label="Essai", origin="local", specimen="edta")


def test_it_appends_several_entries_with_one_lock_one_insert_one_update(make_lab):
    lab = make_lab()
    services.record(lab=lab, user=None, action=Action.SEARCH)  # the chain exists
    with CaptureQueriesContext(connection) as sent, transaction.atomic():
        _test(lab, "X10").save(force_insert=True)
        made = services.record(lab=lab, user=None, entries=[
            {"action": Action.SEARCH}, {"action": Action.CREATE, "object_type": "patient",
                                        "object_id": 7}])
    assert [(e.action, e.object_id) for e in made] == [(Action.SEARCH, ""), (Action.CREATE, "7")]
    assert made[1].seq == made[0].seq + 1
    journal = [s for s in _statements(sent) if "journal_" in s]
    # registry and chain locked together, chain state, registry, entries' insert
    assert len(journal) == 4
    lock, state, book, insert = journal
    assert lock.startswith("SELECT") and "journal_registry" in lock and "journal_chain" in lock
    # The registry is named first: locked first, as on the two-step path of a new chain.
    assert lock.index("journal_registry") < lock.index("journal_chain")
    assert state.startswith("UPDATE journal_chain") and book.startswith("UPDATE journal_registry")
    assert insert.startswith("INSERT") and "journal_entry" in insert
    if connection.features.has_select_for_update:
        assert lock.rstrip().endswith("FOR UPDATE")
    # The caller's write came first: the journal is locked last.
    statements = _statements(sent)
    assert statements.index(journal[0]) > next(
        i for i, s in enumerate(statements) if "orders_cataloguetest" in s)
    [report] = verify(lab)
    assert (report.problem, report.entries) == (None, 5)  # start, lab creation, 3 here


def test_the_entries_returned_are_the_rows_written(make_lab):
    # The insert is fixed SQL: every column of Entry, and the ids it returns, in order.
    lab = make_lab()
    made = services.record(lab=lab, user=None, entries=[
        {"action": Action.SEARCH, "detail": {"criteria": ["nir"]}},
        {"action": Action.CREATE, "object_type": "patient", "object_id": 7, "purpose": "p"}])
    columns = [f.attname for f in Entry._meta.concrete_fields]
    stored = {e.pk: e for e in Entry.objects.filter(pk__in=[e.pk for e in made])}
    def values(entry):
        return [bytes(v) if isinstance(v, memoryview) else v
                for v in (getattr(entry, c) for c in columns)]

    for entry in made:
        assert not entry._state.adding
        assert values(stored[entry.pk]) == values(entry)
    assert [e.seq for e in made] == [made[0].seq, made[0].seq + 1]
    [report] = verify(lab)
    assert report.problem is None


def test_no_entries_write_nothing(make_lab):
    lab = make_lab()
    with CaptureQueriesContext(connection) as sent:
        assert services.record(lab=lab, user=None, entries=[]) == []
    assert _statements(sent) == []


def test_a_chain_started_again_under_a_registered_name_stays_reported(make_lab):
    """A missing chain is started again (the lab keeps working), and the restart is said."""
    lab = make_lab()
    Entry.objects.filter(lab_id=lab.pk).delete()
    Chain.objects.filter(lab_id=lab.pk).delete()
    with transaction.atomic():
        services.record(lab=lab, user=None, entries=[{"action": Action.SEARCH}])
    [report] = verify(lab)
    assert report.entries == 2
    assert report.problem.reason.startswith("restarted: the chain registered under this name")


def test_a_closed_chain_is_refused_and_the_callers_writes_roll_back(make_lab):
    lab = make_lab()
    services.close_chain(lab, reason="test")
    with pytest.raises(services.JournalError, match="closed"), transaction.atomic():  # noqa: PT012
        _test(lab, "X11").save(force_insert=True)
        services.record(lab=lab, user=None, entries=[{"action": Action.SEARCH}])
    assert not CatalogueTest.objects.filter(lab=lab, code="X11").exists()


def test_a_refusal_leaves_the_callers_transaction_usable(make_lab):
    lab = make_lab()
    services.close_chain(lab, reason="test")
    with transaction.atomic():
        with pytest.raises(services.JournalError):
            services.record(lab=lab, user=None, action=Action.SEARCH)
        _test(lab, "X12").save(force_insert=True)
    assert CatalogueTest.objects.filter(lab=lab, code="X12").exists()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"action": Action.SEARCH, "entries": [{"action": Action.SEARCH}]}, "not both"),
    ({"purpose": "x", "entries": [{"action": Action.SEARCH}]}, "not both"),
    ({}, "needs an action"),
    ({"entries": [{"action": Action.SEARCH, "objet": 1}]}, "unknown journal entry field"),
    ({"action": Action.SEARCH, "objet": 1}, "unknown journal entry field"),
    ({"entries": [{"action": Action.SEARCH}, {"action": "peek"}]}, "unknown journal action"),
])
def test_it_refuses_unclear_calls_before_writing(make_lab, kwargs, message):
    lab = make_lab()
    before = Entry.objects.count()
    with pytest.raises(services.JournalError, match=message):
        services.record(lab=lab, user=None, **kwargs)
    assert Entry.objects.count() == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pipeline mode is psycopg's")
def test_on_postgresql_an_appends_writes_go_in_one_pipeline(make_lab, monkeypatch):
    lab = make_lab()
    services.record(lab=lab, user=None, action=Action.SEARCH)  # the chain exists
    connection.ensure_connection()
    raw, opened = connection.connection, []
    real = raw.pipeline

    def spy():
        opened.append(True)
        return real()

    monkeypatch.setattr(raw, "pipeline", spy)
    with CaptureQueriesContext(connection) as sent, transaction.atomic():
        made = services.record(lab=lab, user=None, entries=[{"action": Action.SEARCH}] * 2)
    assert opened == [True]
    assert [e.pk for e in made] == sorted(e.pk for e in made) and None not in [e.pk for e in made]
    assert Entry.objects.filter(pk__in=[e.pk for e in made]).count() == 2
    assert len([s for s in _statements(sent) if "journal_" in s]) == 4
    [report] = verify(lab)
    assert report.problem is None
