"""Web forms of the request and catalogue pages: parsing only; services decide."""

from datetime import date

from django import forms
from django.utils.functional import cached_property

from etanche.orders import prescribers as prescriber_choices
from etanche.orders.preanalytical import QUESTIONS, REJECT_REASONS, SPECIMEN_KINDS
from etanche.web.forms.dates import BoundedDateField, within_years

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
YESNO = [("oui", "Oui"), ("non", "Non")]
NEW_PRESCRIBER = "autre"


def _question_field(question):
    common = {"label": question.label, "required": False, "help_text": question.help}
    if question.kind == "yesno":
        return forms.ChoiceField(choices=YESNO, widget=forms.RadioSelect, **common)
    if question.kind == "date":
        return BoundedDateField(widget=DATE, first=date(1900, 1, 1), last=within_years(1),
                                **common)
    if question.kind == "datetime":
        return forms.DateTimeField(widget=DATETIME, **common)
    return forms.CharField(max_length=500, **common)


class OrderForm(forms.Form):
    tests = forms.CharField(
        label="Analyses demandées (codes)", max_length=400,
        help_text="Codes NABM ou locaux séparés par des espaces, ex. « 1104 1208 0127 ». "
                  "Pour chercher par nom d'analyse, utilisez la recherche à côté.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True,
                                      "class": "codes"}))
    urgent = forms.BooleanField(label="Urgent", required=False)
    # Filled by the user, or by one of the choices offered (clean()); never prefilled.
    prescriber_choice = forms.CharField(required=False, max_length=220,
                                        widget=forms.HiddenInput)
    prescriber_name = forms.CharField(label="Prescripteur", max_length=200, required=False,
                                      widget=forms.TextInput(attrs={"autocomplete": "off"}))
    prescriber_rpps = forms.CharField(label="RPPS du prescripteur (facultatif)",
                                      required=False, max_length=20,
                                      widget=forms.TextInput(attrs={"autocomplete": "off",
                                                                    "inputmode": "numeric"}))
    prescription_date = forms.DateField(label="Date de l'ordonnance", widget=DATE)
    clinical_info = forms.CharField(label="Renseignements cliniques", required=False,
                                    max_length=2000,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(label="Note interne", required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, prescribers=(), **kwargs):
        """`prescribers`: the choices offered, or a callable giving them, called only if
        the page or clean() needs them (a typed name without RPPS needs none)."""
        super().__init__(*args, **kwargs)
        self._prescribers = prescribers
        for key, question in QUESTIONS.items():
            self.fields[f"q_{key}"] = _question_field(question)

    @cached_property
    def prescribers(self) -> list:
        # On request entry: two queries, the patient's last requests unsealed and the
        # user's sealed memo opened (1.7 ms of CPU, issue 25), which a POST with a typed
        # name and no RPPS does not need.
        source = self._prescribers
        return list(source() if callable(source) else source)

    def clean(self):
        data = super().clean()
        choice = data.get("prescriber_choice") or ""
        name = " ".join((data.get("prescriber_name") or "").split())
        rpps = "".join(c for c in data.get("prescriber_rpps") or "" if not c.isspace())
        if choice and choice != NEW_PRESCRIBER:
            chosen = {p.token: p for p in self.prescribers}.get(choice)
            if chosen is None:
                self.add_error("prescriber_choice", "Ce prescripteur n'est plus proposé : "
                                                    "choisissez-le à nouveau.")
            elif name or rpps:
                self.add_error("prescriber_choice", f"Vous avez choisi {chosen.display} dans "
                               "la liste et saisi un autre prescripteur : gardez l'un ou "
                               "l'autre.")
            else:
                data["prescriber_name"], data["prescriber_rpps"] = chosen.name, chosen.rpps
        elif not name:
            self.add_error("prescriber_choice" if self.prescribers else "prescriber_name",
                           "Choisissez le prescripteur dans la liste ou saisissez-le."
                           if self.prescribers else "Indiquez le prescripteur.")
        elif rpps:
            other = prescriber_choices.conflict(name, rpps, self.prescribers)
            if other is not None:
                self.add_error("prescriber_rpps", f"Le RPPS {rpps} est celui de {other.name} "
                               f"dans les demandes récentes : choisissez {other.name} dans "
                               "la liste, ou vérifiez le numéro.")
        return data

    def chosen_prescriber(self):
        """Who the results will go to, as chosen so far (display only: clean() decides)."""
        if not self.is_bound:
            return None
        choice = self.data.get("prescriber_choice") or ""
        if choice and choice != NEW_PRESCRIBER:
            return prescriber_choices.parse_token(choice)
        name = " ".join((self.data.get("prescriber_name") or "").split())[:200]
        if not name:
            return None
        rpps = "".join(c for c in self.data.get("prescriber_rpps") or "" if c.isdigit())[:11]
        return prescriber_choices.Prescriber(name=name, rpps=rpps)

    def codes(self) -> list[str]:
        raw = self.data.get("tests", "") if self.is_bound else self.initial.get("tests", "")
        return [c.upper() for c in str(raw).replace(",", " ").split() if c]

    def answers(self) -> dict:
        out = {}
        for key, question in QUESTIONS.items():
            value = self.cleaned_data.get(f"q_{key}")
            if value in (None, ""):
                continue
            if question.kind == "date":
                value = value.isoformat()
            elif question.kind == "datetime":
                value = value.strftime("%Y-%m-%d %H:%M")
            out[key] = value
        return out

    def question_fields(self, keys):
        return [self[f"q_{key}"] for key in keys]


class SampleForm(forms.Form):
    sampled_at = forms.DateTimeField(label="Date et heure du prélèvement", widget=DATETIME)
    collector = forms.TypedChoiceField(label="Préleveur", coerce=int)

    def __init__(self, *args, collectors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collector"].choices = [(u.pk, u.get_full_name() or u.username)
                                            for u in collectors]


class CancelForm(forms.Form):
    reason = forms.CharField(label="Motif de l'annulation", max_length=500)


class RejectForm(forms.Form):
    reason = forms.ChoiceField(label="Non-conformité",
                               choices=[("", "—"), *REJECT_REASONS.items()])
    comment = forms.CharField(label="Commentaire", required=False, max_length=500)


SPECIMEN_CHOICES = [(k, s.label) for k, s in SPECIMEN_KINDS.items()]
QUESTION_CHOICES = [(k, q.label) for k, q in QUESTIONS.items()]


class CatalogueSettingsForm(forms.Form):
    specimen = forms.ChoiceField(label="Échantillon (détermine le contenant)",
                                 choices=SPECIMEN_CHOICES)
    questions = forms.MultipleChoiceField(label="Questions pré-analytiques", required=False,
                                          choices=QUESTION_CHOICES,
                                          widget=forms.CheckboxSelectMultiple)


class LocalTestForm(CatalogueSettingsForm):
    code = forms.CharField(label="Code local", max_length=10,
                           help_text="Commence par une lettre, ex. « L001 » : les codes à "
                                     "4 chiffres sont ceux de la NABM.")
    label = forms.CharField(label="Libellé", max_length=200)

    field_order = ["code", "label", "specimen", "questions"]
