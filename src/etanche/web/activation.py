"""The activation link's page: where a person sets the credentials nobody else holds.

Reachable without login, but only with a valid link: an unknown, expired or
spent token gets a French message (400) and nothing else. The token travels in
the link's query (`?jeton=`) and then in the form's body, never in a session.
"""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from etanche.accounts import activation as activations
from etanche.accounts import services
from etanche.web.forms.activation import ActivationForm
from etanche.web.login_steps import grouped_secret, qr_svg

BAD_CODE = "Code incorrect : saisissez celui que l'application affiche maintenant."


def activation_url(request, token: str) -> str:
    """The absolute link to mail to the person."""
    return activations.link(request.build_absolute_uri(reverse("activation")), token)


def _refused(request, message: str):
    return render(request, "accounts/activation_refused.html", {"message": message}, status=400)


@require_http_methods(["GET", "POST"])
@login_not_required
@sensitive_post_parameters("jeton", "new_password1", "new_password2", "code")
@sensitive_variables("token")
@never_cache
def activation(request):
    data = request.POST if request.method == "POST" else request.GET
    token = data.get("jeton", "")
    found = activations.find(token)
    if found is None or not found.user.is_active:
        return _refused(request, activations.INVALID)
    if found.refusal:
        return _refused(request, found.refusal)
    user = found.user
    device = services.pending_totp(user)
    form = ActivationForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.complete_activation(
                found, new_password=form.cleaned_data["new_password1"], device=device,
                code=form.cleaned_data["code"])
        except ValidationError as exc:
            # Spent or expired between the page and the post.
            return _refused(request, " ".join(exc.messages))
        if codes is not None:
            return render(request, "accounts/recovery_codes.html",
                          {"codes": codes, "continue_url": reverse("login")})
        form.add_error("code", BAD_CODE)
    return render(request, "accounts/activation.html", {
        "form": form, "person": user, "token": token, "kind": found.get_kind_display(),
        "expires_at": found.expires_at, "qr": qr_svg(device.config_url),
        "secret": grouped_secret(device),
    })
