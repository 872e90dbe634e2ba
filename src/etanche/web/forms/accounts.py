"""Forms of the login steps, the account page and user management (labels in French)."""

from django import forms
from django.contrib.auth import password_validation

from etanche.accounts.models import Role
from etanche.accounts.services import SAME_PASSWORD


class LoginForm(forms.Form):
    username = forms.CharField(label="Identifiant", max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username",
                                                             "autofocus": True}))
    password = forms.CharField(label="Mot de passe", strip=False,
                               widget=forms.PasswordInput(
                                   attrs={"autocomplete": "current-password"}))


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                      "inputmode": "text", "spellcheck": "false"}),
    )

    def clean_code(self):
        return "".join(self.cleaned_data["code"].split()).lower()


class SudoForm(CodeForm):
    password = forms.CharField(label="Mot de passe", strip=False,
                               widget=forms.PasswordInput(
                                   attrs={"autocomplete": "current-password"}))
    field_order = ["password", "code"]


class NewPasswordForm(forms.Form):
    new_password1 = forms.CharField(
        label="Nouveau mot de passe", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label="Confirmation", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", "Les deux mots de passe diffèrent.")
        elif first:
            try:
                password_validation.validate_password(first, self.user)
            except forms.ValidationError as exc:
                self.add_error("new_password1", exc)
            else:
                if self.user.check_password(first):
                    self.add_error("new_password1", SAME_PASSWORD)
        return cleaned


WRONG_PASSWORD = "wrong_password"  # noqa: S105  (an error code, counted by the throttle)


class ChangePasswordForm(NewPasswordForm):
    old_password = forms.CharField(
        label="Mot de passe actuel", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["old_password", "new_password1", "new_password2"]

    def clean_old_password(self):
        old = self.cleaned_data["old_password"]
        if not self.user.check_password(old):
            raise forms.ValidationError("Mot de passe actuel incorrect.", code=WRONG_PASSWORD)
        return old


class UserCreateForm(forms.Form):
    username = forms.CharField(label="Identifiant (prenom.nom)", max_length=150)
    first_name = forms.CharField(label="Prénom", max_length=150)
    last_name = forms.CharField(label="Nom", max_length=150)
    email = forms.EmailField(label="Adresse électronique professionnelle")
    role = forms.ChoiceField(label="Rôle", choices=Role.choices)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Rôle", choices=Role.choices)
