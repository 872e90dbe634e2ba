from datetime import date

from django import forms

from etanche.journal.models import Action
from etanche.web.forms.dates import BoundedDateField, within_years

# The journal holds nothing older than the product, nor anything from the future: a
# period outside these bounds is a mistake, said as such (and it cannot overflow).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = within_years(1)


def _day(label: str, **kwargs) -> BoundedDateField:
    return BoundedDateField(label=label, first=FIRST_DAY, last=LAST_DAY, **kwargs)


class JournalFilterForm(forms.Form):
    user = forms.ChoiceField(label="Utilisateur", required=False)
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Toutes")] + list(Action.choices)
    )
    patient = forms.IntegerField(
        label="N° patient (identifiant interne)", required=False, min_value=1,
        max_value=2**63 - 1,  # a database id: anything larger names no patient
    )
    start = _day("Du", required=False)
    end = _day("Au", required=False)

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", "Tous")] + [
            (str(u.pk), f"{u.get_full_name()} ({u.username})") for u in users
        ]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "La date de fin précède la date de début.")
        return data


class JournalExportForm(forms.Form):
    start = _day("Du")
    end = _day("Au")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "La date de fin précède la date de début.")
        return data
