from datetime import date

from django import forms
from django.utils import timezone

from etanche.exports import profiles
from etanche.exports.models import Selection
from etanche.web.forms.dates import BoundedDateField


class ExportRequestForm(forms.Form):
    profile = forms.ChoiceField(
        label="Profil", widget=forms.RadioSelect,
        choices=[(p.name, p.label) for p in profiles.PROFILES.values()])
    format = forms.ChoiceField(label="Format", choices=list(profiles.FORMATS.items()),
                               initial="ndjson")
    selection = forms.ChoiceField(label="Patients", widget=forms.RadioSelect,
                                  choices=Selection.choices, initial=Selection.ALL)
    patients = forms.CharField(
        label="Identifiants des patients (séparés par des virgules ou des espaces)",
        required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # Bounded here: 0001-01-01 passed the service's "not in the future" and overflowed in
    # the worker, turned into a UTC instant (issue 16, item 14).
    since = BoundedDateField(label="Depuis le", required=False,
                             first=date(2000, 1, 1), last=timezone.localdate)
    recipient = forms.CharField(label="Clé publique age du destinataire (age1…)",
                                max_length=100)
    expires_days = forms.IntegerField(label="Expiration (jours, 30 au plus)", min_value=1,
                                      max_value=30, initial=7)
    downloads = forms.IntegerField(label="Téléchargements autorisés", min_value=1,
                                   max_value=10, initial=1)
    downloads_shared = forms.BooleanField(
        label="Autoriser d'autres personnes du laboratoire (ayant le droit de télécharger) à "
              "télécharger le fichier", required=False,
        help_text="Sinon, vous seul pouvez le télécharger : un téléchargement en consomme un "
                  "et le dernier détruit le fichier.")

    def clean_patients(self):
        text = self.cleaned_data.get("patients") or ""
        parts = text.replace(",", " ").split()
        if not all(p.isdigit() for p in parts):
            raise forms.ValidationError("Les identifiants de patients sont des nombres.")
        return [int(p) for p in parts]


class RefuseForm(forms.Form):
    reason = forms.CharField(label="Motif du refus", max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))
