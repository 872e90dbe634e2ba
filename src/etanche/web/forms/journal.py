from django import forms

from etanche.journal.models import Action


class JournalFilterForm(forms.Form):
    user = forms.ChoiceField(label="Utilisateur", required=False)
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Toutes")] + list(Action.choices)
    )
    patient = forms.IntegerField(
        label="N° patient (identifiant interne)", required=False, min_value=1
    )
    start = forms.DateField(
        label="Du", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="Au", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

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
    start = forms.DateField(label="Du", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="Au", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "La date de fin précède la date de début.")
        return data
