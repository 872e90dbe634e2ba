from django import forms

from etanche.accounts.models import Role
from etanche.watch import config, rules
from etanche.watch.models import AlertState, GlassReason, Resolution, Severity


def _blank(label, choices):
    return [("", label), *choices]


class AlertFilterForm(forms.Form):
    state = forms.ChoiceField(label="État", required=False,
                              choices=_blank("Tous", AlertState.choices))
    severity = forms.ChoiceField(label="Gravité", required=False,
                                 choices=_blank("Toutes", Severity.choices))
    rule = forms.ChoiceField(label="Règle", required=False,
                             choices=_blank("Toutes", [(r.id, r.title) for r in rules.RULES]))


class AlertCloseForm(forms.Form):
    resolution = forms.ChoiceField(
        label="Conclusion", widget=forms.RadioSelect,
        choices=[(Resolution.JUSTIFIED, "Justifiée (accès légitime)"),
                 (Resolution.INCIDENT, "Incident (à instruire, violation possible)")])
    comment = forms.CharField(label="Commentaire", required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))


class BreakGlassForm(forms.Form):
    reason = forms.ChoiceField(label="Motif", choices=GlassReason.choices,
                               widget=forms.RadioSelect)
    text = forms.CharField(label="Précisez (10 caractères au moins)", max_length=500,
                           widget=forms.Textarea(attrs={"rows": 3}))


# Rules whose threshold the lab admin sets: those with a threshold.
TUNABLE = [r for r in rules.RULES if r.threshold is not None]
BULK_ROLES = (Role.FRONTDESK, Role.BIOLOGIST, Role.DPO)
DAYS = list(enumerate(config.DAY_NAMES))


class WatchSettingsForm(forms.Form):
    days = forms.TypedMultipleChoiceField(label="Jours d'ouverture", coerce=int, choices=DAYS,
                                          widget=forms.CheckboxSelectMultiple)
    opens = forms.CharField(label="Ouverture (HH:MM)", max_length=5)
    closes = forms.CharField(label="Fermeture (HH:MM)", max_length=5)
    email_to = forms.CharField(label="Alertes par e-mail à (séparées par des virgules)",
                               required=False, max_length=500)
    syslog = forms.CharField(label="Syslog (udp://, tcp:// ou tls://HÔTE:PORT)",
                             required=False, max_length=300)
    webhook = forms.CharField(label="Webhook (https://…)", required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for rule in TUNABLE:
            self.fields[f"{rule.id}__threshold"] = forms.IntegerField(
                label=f"{rule.title} : seuil", min_value=1, max_value=10_000_000)
            self.fields[f"{rule.id}__minutes"] = forms.IntegerField(
                label=f"{rule.title} : fenêtre (minutes)", min_value=1, max_value=7 * 24 * 60)
        for role in BULK_ROLES:
            self.fields[f"bulk-reads__{role}"] = forms.IntegerField(
                label=f"Consultations en masse, seuil pour : {Role(role).label}",
                min_value=1, max_value=100_000)

    @staticmethod
    def initial_from(row) -> dict:
        wanted = config.hours(row)
        initial = {"days": wanted["days"], "opens": wanted["open"], "closes": wanted["close"],
                   "email_to": row.email_to, "syslog": row.syslog, "webhook": row.webhook}
        for rule in TUNABLE:
            initial[f"{rule.id}__threshold"] = config.threshold(row, rule)
            initial[f"{rule.id}__minutes"] = config.minutes(row, rule)
        bulk = rules.BY_ID["bulk-reads"]
        for role in BULK_ROLES:
            initial[f"bulk-reads__{role}"] = config.threshold(row, bulk, role)
        return initial

    def clean_syslog(self):
        return config.check_syslog(self.cleaned_data["syslog"])

    def clean_webhook(self):
        return config.check_webhook(self.cleaned_data["webhook"])

    def clean_email_to(self):
        addresses = [a.strip() for a in self.cleaned_data["email_to"].split(",") if a.strip()]
        field = forms.EmailField()
        for address in addresses:
            field.clean(address)
        return ", ".join(addresses)

    def clean(self):
        data = super().clean()
        if {"days", "opens", "closes"} <= set(data):
            try:
                data["hours"] = config.check_hours(data["days"], data["opens"], data["closes"])
            except forms.ValidationError as exc:
                self.add_error("opens", exc)
        return data

    def thresholds(self) -> dict:
        data = self.cleaned_data
        out = {rule.id: {"threshold": data[f"{rule.id}__threshold"],
                         "minutes": data[f"{rule.id}__minutes"]} for rule in TUNABLE}
        out["bulk-reads"]["by_role"] = {role: data[f"bulk-reads__{role}"] for role in BULK_ROLES}
        return out


class StaffIdentityForm(forms.Form):
    birth_name = forms.CharField(label="Nom de naissance", max_length=200)
    birth_date = forms.CharField(label="Date de naissance (AAAA-MM-JJ)", max_length=10)
    phone = forms.CharField(label="Téléphone personnel", required=False, max_length=30)
    nir = forms.CharField(label="N° de sécurité sociale (NIR)", required=False, max_length=21)
    street = forms.CharField(label="Adresse personnelle (numéro et voie)", required=False,
                             max_length=200)
    postal_code = forms.CharField(label="Code postal", required=False, max_length=10)
