"""Forms of the data-subject request pages: they parse; rights.services checks."""

from datetime import date

from django import forms
from django.utils import timezone

from etanche.rights.models import Right
from etanche.web.forms.dates import BoundedDateField


class SubjectRequestForm(forms.Form):
    patient = forms.IntegerField(label="Numéro du dossier patient", min_value=1,
                                 widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                               "autocomplete": "off"}))
    right = forms.ChoiceField(label="Droit exercé", choices=[("", "—"), *Right.choices])
    identity_check = forms.CharField(
        label="Vérification de l'identité du demandeur", max_length=500,
        help_text="Par exemple : carte d'identité présentée au guichet ; copie de pièce "
                  "reçue par courrier, comparée aux traits du dossier.")
    received_on = BoundedDateField(label="Reçue le", required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}),
                                   first=date(2018, 5, 25), last=timezone.localdate)
    notes = forms.CharField(label="Notes (facultatif)", required=False, max_length=4000,
                            widget=forms.Textarea(attrs={"rows": 3}))


class AccessAnswerForm(forms.Form):
    recipient = forms.CharField(
        label="Clé publique age de la personne (facultatif)", required=False, max_length=200,
        help_text="Sans clé, le dossier est chiffré par un mot de passe affiché une seule "
                  "fois, à communiquer à la personne séparément (téléphone, guichet).")
