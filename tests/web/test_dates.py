"""Every date a form takes is bounded, a French sentence naming the bounds (issue 16, item 14)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from etanche.orders.preanalytical import QUESTIONS
from etanche.web.forms.dates import BoundedDateField, within_years
from etanche.web.forms.exports import ExportRequestForm
from etanche.web.forms.journal import JournalExportForm, JournalFilterForm
from etanche.web.forms.orders import _question_field
from etanche.web.forms.patients import PatientSearchForm

DATE_QUESTIONS = [q for q in QUESTIONS.values() if q.kind == "date"]


def _fields():
    yield "journal filter start", JournalFilterForm.base_fields["start"]
    yield "journal filter end", JournalFilterForm.base_fields["end"]
    yield "journal export start", JournalExportForm.base_fields["start"]
    yield "export since", ExportRequestForm.base_fields["since"]
    yield "search birth date", PatientSearchForm.base_fields["birth_date"]
    for question in DATE_QUESTIONS:
        yield f"question {question.label}", _question_field(question)


@pytest.mark.parametrize(("name", "field"), list(_fields()), ids=lambda v: str(v)[:30])
@pytest.mark.parametrize("far", ["0001-01-01", "9999-12-31"])
def test_far_dates_are_refused_in_french(name, field, far):
    assert isinstance(field, BoundedDateField), name
    with pytest.raises(ValidationError, match="Choisissez une date entre le"):
        field.clean(far)


def test_the_bounds_are_the_message_and_the_pickers():
    field = BoundedDateField(first=date(2000, 1, 1), last=within_years(1), required=False)
    last = field.last_day()
    assert field.clean(date(2000, 1, 1).isoformat()) == date(2000, 1, 1)
    assert field.clean(last.isoformat()) == last
    assert field.clean("") is None
    with pytest.raises(ValidationError, match=f"entre le 01/01/2000 et le {last:%d/%m/%Y}"):
        field.clean("1999-12-31")
    assert field.widget.attrs["min"] == "2000-01-01"
