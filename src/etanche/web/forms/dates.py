"""Date inputs with bounds: every date a form takes lies between two dates it states.

Python dates run from 0001-01-01 to 9999-12-31, and a day added to the last one,
or a local midnight of the first one turned into UTC, overflows: a 500 and a
traceback (issue 16, item 14). A BoundedDateField refuses what lies outside its
bounds with one French sentence that names them.
"""

from collections.abc import Callable
from datetime import date, timedelta

from django import forms
from django.utils import timezone

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def within_years(years: int) -> Callable[[], date]:
    """A last day `years` from today, computed when the form is checked."""
    return lambda: timezone.localdate() + timedelta(days=366 * years)


class BoundedDateField(forms.DateField):
    def __init__(self, *, first: date, last: Callable[[], date], **kwargs):
        self.first, self.last_day = first, last  # before super(): widget_attrs reads them
        kwargs.setdefault("widget", DATE_INPUT)
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value in self.empty_values:
            return
        last = self.last_day()
        if not self.first <= value <= last:
            raise forms.ValidationError(
                f"Choisissez une date entre le {self.first:%d/%m/%Y} et le {last:%d/%m/%Y}.",
                code="out_of_range")

    def widget_attrs(self, widget):
        # The browser's picker shows the same bounds (the server checks them anyway).
        return {**super().widget_attrs(widget), "min": self.first.isoformat()}
