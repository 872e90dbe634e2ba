"""Web forms of the patient pages: they parse; patients.services checks and decides."""

from datetime import date

from django import forms
from django.utils import timezone

from etanche.patients.status import DocumentKind
from etanche.web.forms.dates import BoundedDateField

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PatientSearchForm(forms.Form):
    number = forms.CharField(
        label="N° de demande ou code-barres du tube", required=False, max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
        help_text="Un code-barres scanné dans n'importe quel champ ouvre la demande.")
    nir = forms.CharField(label="NIR / NIA (15 caractères)", required=False, max_length=30,
                          widget=forms.TextInput(attrs={"autocomplete": "off",
                                                        "inputmode": "numeric"}))
    name = forms.CharField(label="Nom de naissance ou d'usage (complet)", required=False,
                           max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off",
                                                                         "autofocus": True}))
    first_name = forms.CharField(label="Prénom", required=False, max_length=100,
                                 widget=forms.TextInput(attrs={"autocomplete": "off"}))
    # Registration refuses a birth date over 125 years ago (patients/validators.py).
    birth_date = BoundedDateField(label="Date de naissance", required=False, widget=DATE,
                                  first=date(1850, 1, 1), last=timezone.localdate)
    phone = forms.CharField(label="Téléphone", required=False, max_length=30,
                            widget=forms.TextInput(attrs={"autocomplete": "off",
                                                          "inputmode": "tel"}))

    def criteria(self) -> dict:
        data = self.cleaned_data
        return {key: (value.isoformat() if key == "birth_date" else value)
                for key, value in data.items() if value and key != "number"}

    def scanned(self) -> str:
        """A request number or tube barcode typed or scanned: in its own field, or alone
        in the name field (where the cursor waits when the reader types it)."""
        data = self.cleaned_data
        if data.get("number"):
            return data["number"]
        others = [k for k, v in data.items() if v and k not in ("name", "number")]
        name = "".join((data.get("name") or "").split())
        return name if name and not others and looks_like_request(name) else ""


def looks_like_request(text: str) -> bool:
    """2026-000123 (a request number) or 202600012301 (a tube: number and rank)."""
    digits = text.replace("-", "")
    return digits.isdigit() and len(digits) in (10, 12)


DOCUMENT_CHOICES = [("", "Aucune pièce contrôlée (identité provisoire)")] + [
    (DocumentKind.NATIONAL_ID_CARD.value, "Carte nationale d'identité"),
    (DocumentKind.PASSPORT.value, "Passeport"),
    (DocumentKind.RESIDENCE_PERMIT.value, "Titre de séjour"),
]


class PatientForm(forms.Form):
    """Registration. Field names are the service's input keys; see patients/intake.py."""

    birth_name = forms.CharField(label="Nom de naissance", max_length=100)
    first_names = forms.CharField(
        label="Prénoms de naissance", max_length=300,
        help_text="Tous les prénoms de l'état civil, dans l'ordre, séparés par des espaces "
                  "(un prénom composé garde son trait d'union).")
    used_name = forms.CharField(label="Nom utilisé (si différent)", required=False,
                                max_length=100)
    used_first_name = forms.CharField(label="Prénom utilisé (si différent)", required=False,
                                      max_length=100)
    birth_date = forms.DateField(label="Date de naissance", widget=DATE)
    sex = forms.ChoiceField(label="Sexe", choices=[("", "—"), ("F", "Féminin"),
                                                   ("M", "Masculin")])
    birthplace_code = forms.CharField(
        label="Lieu de naissance (code INSEE)", max_length=5,
        help_text="Code INSEE de la commune (ex. 35238 pour Rennes), ou 99 suivi du code "
                  "du pays pour une personne née à l'étranger (ex. 99350, Maroc).")
    nir = forms.CharField(label="NIR ou NIA du patient (facultatif)", required=False,
                          max_length=30,
                          help_text="Celui du patient lui-même, pas celui de l'assuré qui "
                                    "l'a à sa charge.")
    id_document = forms.ChoiceField(label="Pièce d'identité contrôlée", required=False,
                                    choices=DOCUMENT_CHOICES)
    phone = forms.CharField(label="Téléphone", required=False, max_length=30)
    email = forms.CharField(label="Adresse électronique", required=False, max_length=200)
    street = forms.CharField(label="Adresse", required=False, max_length=200)
    postal_code = forms.CharField(label="Code postal", required=False, max_length=10)
    city = forms.CharField(label="Commune", required=False, max_length=200)
    amo_regime = forms.CharField(label="Régime obligatoire (2 chiffres)", required=False,
                                 max_length=2)
    amo_fund = forms.CharField(label="Caisse (3 chiffres)", required=False, max_length=3)
    amo_centre = forms.CharField(label="Centre (4 chiffres)", required=False, max_length=4)
    amc_insurer = forms.CharField(label="Complémentaire (organisme)", required=False,
                                  max_length=200)
    amc_contract = forms.CharField(label="N° de contrat complémentaire", required=False,
                                   max_length=200)
    physician_name = forms.CharField(label="Médecin traitant", required=False, max_length=200)
    insured_nir = forms.CharField(
        label="NIR de l'assuré (si ce n'est pas le patient)", required=False, max_length=30,
        help_text="Celui de la carte Vitale qui couvre le patient (un parent, un conjoint).")
    not_duplicate = forms.BooleanField(
        label="J'ai vérifié : il s'agit d'une autre personne que les dossiers proposés",
        required=False)

    def service_data(self, today) -> dict:
        data = {k: v for k, v in self.cleaned_data.items()
                if k not in ("not_duplicate", "id_document") and v not in ("", None)}
        data["first_names"] = self.cleaned_data["first_names"].split()
        data["birth_date"] = self.cleaned_data["birth_date"].isoformat()
        if self.cleaned_data.get("id_document"):
            data["identity_status"] = "VALI"
            data["id_document"] = {"kind": self.cleaned_data["id_document"],
                                   "checked_on": today.isoformat()}
        return data


# What the correction form shows of an envelope, and sends back.
_CORRECTED = ("birth_name", "used_name", "used_first_name", "sex", "birthplace_code", "nir",
              "phone", "email", "street", "postal_code", "city", "amo_regime", "amo_fund",
              "amo_centre", "amc_insurer", "amc_contract", "physician_name", "insured_nir")


class CorrectionForm(PatientForm):
    """Correction of a record: the registration fields, prefilled, with a reason."""

    reason = forms.CharField(label="Raison de la correction", max_length=500,
                             help_text="Par exemple : erreur de saisie du nom de naissance, "
                                       "vérifié sur la carte d'identité.")

    @classmethod
    def initial_from(cls, data: dict) -> dict:
        """`data`: the record in input form (patients.intake.as_input)."""
        initial = {k: data.get(k, "") for k in _CORRECTED}
        initial["first_names"] = " ".join(data.get("first_names") or [])
        initial["birth_date"] = data.get("birth_date")
        return initial

    def changes(self, today) -> dict:
        data = self.cleaned_data
        changes = {k: data.get(k) or "" for k in _CORRECTED}
        changes["first_names"] = data["first_names"].split()
        changes["birth_date"] = data["birth_date"].isoformat()
        if data.get("id_document"):
            changes["identity_status"] = "VALI"
            changes["id_document"] = {"kind": data["id_document"],
                                      "checked_on": today.isoformat()}
        return changes


class MergeForm(forms.Form):
    """The other record of a merge, by its id (shown on its page)."""

    other = forms.IntegerField(label="Numéro du dossier à fusionner dans celui-ci",
                               min_value=1, widget=forms.TextInput(attrs={
                                   "inputmode": "numeric", "autocomplete": "off"}))
    reason = forms.CharField(label="Raison de la fusion", required=False, max_length=500)
