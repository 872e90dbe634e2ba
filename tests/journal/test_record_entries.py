"""lock_for_append: the chain lock taken with a read, the append later without a round trip."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from etanche.journal import services
from etanche.journal.models import Action, Chain, Entry
from etanche.lib import sql
from etanche.orders import catalogue
from etanche.orders.models import CatalogueTest


@pytest.fixture
def make_lab(make_lab):
    def make():
        lab = make_lab()
        catalogue.ensure_seeded(lab)  # the NABM tests the reads look for
        return lab
    return make


def _codes(lab, *codes):
    return (f"SELECT code FROM {CatalogueTest._meta.db_table} WHERE lab_id = %s "  # noqa: S608
            f"AND code IN ({', '.join(['%s'] * len(codes))})", [lab.pk, *codes])


def _statements(sent):
    # The vault's check of the current key version (every VAULT_RECHECK_SECONDS) aside.
    return [q["sql"] for q in sent.captured_queries
            if q["sql"].split()[0] not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
            and "vault_labkeyset" not in q["sql"]]


def test_it_reads_the_rows_and_the_append_needs_one_more_statement(make_lab):
    lab = make_lab()
    services.record(lab=lab, user=None, action=Action.SEARCH)  # the chain exists
    new = CatalogueTest(lab=lab, code="X10", label="Essai", origin="local", specimen="edta")
    with CaptureQueriesContext(connection) as sent, transaction.atomic():
        chain, rows = services.lock_for_append(lab, _codes(lab, "1104", "1208", "ZZZZ"))
        services.record_many(lab=lab, user=None, chain=chain,
                             entries=[{"action": Action.SEARCH}, {"action": Action.CREATE}],
                             along=[sql.insert_statement([new])])
    assert sorted(rows) == [("1104",), ("1208",)]
    assert CatalogueTest.objects.filter(lab=lab, code="X10").exists()
    if connection.vendor == "postgresql":
        assert len(_statements(sent)) == 2  # lock + read, then insert + entries + state
    [report] = services.verify(lab)
    assert (report.problem, report.entries) == (None, 5)  # start, lab creation, 3 here


def test_it_returns_no_rows_when_the_read_finds_none(make_lab):
    lab = make_lab()
    with transaction.atomic():
        chain, rows = services.lock_for_append(lab, _codes(lab, "ZZZZ"))
        services.record_many(lab=lab, user=None, chain=chain, entries=[{"action": Action.SEARCH}])
    assert rows == []
    assert Entry.objects.filter(lab_id=lab.pk, action=Action.SEARCH).count() == 1


def test_it_starts_a_chain_that_does_not_exist_yet(make_lab):
    lab = make_lab()
    Entry.objects.filter(lab_id=lab.pk).delete()
    Chain.objects.filter(lab_id=lab.pk).delete()
    with transaction.atomic():
        chain, rows = services.lock_for_append(lab, _codes(lab, "1104"))
        services.record_many(lab=lab, user=None, chain=chain, entries=[{"action": Action.SEARCH}])
    assert rows == [("1104",)]
    [report] = services.verify(lab)
    assert (report.problem, report.entries) == (None, 2)


def test_a_closed_chain_is_refused_and_nothing_is_written(make_lab):
    lab = make_lab()
    services.close_chain(lab, reason="test")
    new = CatalogueTest(lab=lab, code="X11", label="Essai", origin="local", specimen="edta")
    with pytest.raises(services.JournalError), transaction.atomic():  # noqa: PT012
        chain, _ = services.lock_for_append(lab, _codes(lab, "1104"))
        services.record_many(lab=lab, user=None, chain=chain, entries=[{"action": Action.SEARCH}],
                             along=[sql.insert_statement([new])])
    assert not CatalogueTest.objects.filter(lab=lab, code="X11").exists()
