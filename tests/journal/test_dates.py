"""Far dates in the journal's filters and export (issue 16, item 14).

`/journal/?start=9999-12-31&end=9999-12-31` and
`/journal/export/?start=0001-01-01&end=9999-12-31` raised OverflowError (a 500
with a traceback in the log), and the export wrote its journal entry first.
"""

import pytest
from django.db import DatabaseError

from etanche.journal import queries
from etanche.journal.models import Action, Entry
from etanche.web.forms.journal import FIRST_DAY, JournalExportForm, JournalFilterForm
from tests.personas import sign_in

FAR = [("9999-12-31", "9999-12-31"), ("0001-01-01", "9999-12-31"), ("0001-01-01", "0001-01-01"),
       ("1900-01-01", "2999-12-31")]


def _exports(world):
    return Entry.objects.filter(action=Action.JOURNAL_EXPORT, user_id=world.dpo.pk).count()


@pytest.mark.parametrize(("start", "end"), FAR)
def test_far_dates_in_the_filter_are_refused_in_french(client, world, start, end):
    sign_in(client, world.dpo)
    response = client.get("/journal/", {"start": start, "end": end})
    assert response.status_code == 200
    assert "Choisissez une date entre le" in response.content.decode()
    assert not list(response.context["page"])  # an invalid filter lists nothing


@pytest.mark.parametrize(("start", "end"), FAR)
def test_far_dates_in_the_export_are_refused_and_not_journaled(client, world, start, end):
    sign_in(client, world.dpo)
    response = client.get("/journal/export/", {"start": start, "end": end})
    assert response.status_code == 400
    assert "Choisissez une date entre le" in response.content.decode()
    assert _exports(world) == 0


def test_the_bounds_themselves_are_accepted():
    last = JournalFilterForm.base_fields["end"].last_day()
    data = {"start": FIRST_DAY.isoformat(), "end": last.isoformat()}
    assert JournalFilterForm(data).is_valid()
    assert JournalExportForm(data).is_valid()


def test_an_export_whose_query_fails_writes_no_journal_entry(client, world, monkeypatch):
    def failing(*args, **kwargs):
        raise DatabaseError("the database went away")
        yield  # a generator, as the real one

    monkeypatch.setattr(queries, "signed_export_lines", failing)
    sign_in(client, world.dpo)
    with pytest.raises(DatabaseError):
        client.get("/journal/export/", {"start": "2026-01-01", "end": "2026-01-02"})
    assert _exports(world) == 0
