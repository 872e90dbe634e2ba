"""My personal API tokens: create one (shown once), see when each was last used, revoke.

Under sudo (a fresh password + TOTP): a token is a credential, like the password. It is
made for the lab of the session's membership and can never do more than the person's
role there (accounts/tokens.py).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from etanche.accounts import tokens
from etanche.web.decorators import any_member, sudo_required

VALIDITIES = [("30d", "30 jours"), ("90d", "90 jours"), ("180d", "180 jours"),
              ("365d", "1 an")]
LABELS = {"read": "lecture", "write": "écriture"}


def _choices(membership) -> list[tuple[str, str]]:
    if membership is None:
        return []
    scopes = [f"user/{r}.read" for r in tokens.RESOURCES]
    scopes += [f"user/{r}.write" for r in tokens.WRITABLE] + [tokens.CLINICAL]
    out = []
    for scope in scopes:
        if tokens.role_can_use(membership.role, scope):
            if scope == tokens.CLINICAL:
                out.append((scope, "renseignements cliniques des demandes (lecture)"))
            else:
                resource, access = scope.removeprefix("user/").split(".")
                out.append((scope, f"{resource} ({LABELS[access]})"))
    return out


@require_http_methods(["GET", "POST"])
@any_member
@sudo_required
@never_cache
def account_tokens(request):
    membership = request.membership
    created, errors = None, []
    if request.method == "POST" and membership is not None:
        if request.POST.get("revoke"):
            token = tokens.tokens_of(request.user).filter(
                pk=int(request.POST["revoke"]) if request.POST["revoke"].isdigit() else 0
            ).first()
            if token is None:
                errors.append("Jeton introuvable.")
            elif tokens.revoke(token, actor=request.user):
                messages.success(request, f"Jeton n° {token.pk} révoqué.")
                return redirect("account_tokens")
            else:
                errors.append("Ce jeton était déjà révoqué.")
        else:
            try:
                validity = tokens.parse_validity(request.POST.get("expires", ""))
                token, secret = tokens.create_token(
                    membership, scopes=request.POST.getlist("scopes"), validity=validity,
                    label=request.POST.get("label", ""))
            except ValidationError as exc:
                errors += exc.messages
            else:
                created = {"token": token, "secret": secret}
    elif request.method == "POST":
        errors.append("Aucun rôle dans un laboratoire : pas de jeton possible.")
    return render(request, "accounts/tokens.html", {
        "membership": membership, "tokens": tokens.tokens_of(request.user),
        "choices": _choices(membership), "validities": VALIDITIES, "created": created,
        "errors": errors, "max_days": tokens.max_validity().days,
    }, status=400 if errors else 200)
