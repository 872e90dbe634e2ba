"""The activation page's form: the person's own password, then a code from their new app."""

from django import forms

from etanche.web.forms.accounts import NewPasswordForm


class ActivationForm(NewPasswordForm):
    code = forms.CharField(
        label="Code affiché par l'application", max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "spellcheck": "false"}),
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit():
            raise forms.ValidationError("Le code est fait de chiffres (6 en général).")
        return code
