"""My account: password, second factor, recovery codes, sessions, re-authentication."""

import django_otp
from django.contrib import messages
from django.contrib.auth import logout
from django.db import transaction
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from etanche.accounts import services
from etanche.accounts import sessions as session_records
from etanche.accounts.audit import journal
from etanche.accounts.session_store import stored_key
from etanche.web import sessions
from etanche.web.decorators import any_member, sudo_required
from etanche.web.forms.accounts import ChangePasswordForm, CodeForm, SudoForm
from etanche.web.login import (
    BAD_CODE,
    _labs,
    _refuse_locked,
    _verify_code,
    change_password_in_session,
    guard_current_password,
    record_failure,
)
from etanche.web.login_steps import grouped_secret, qr_svg, safe_next


@require_GET
@any_member
@never_cache
def account(request):
    user = request.user
    return render(request, "accounts/account.html", {
        "memberships": user.memberships.filter(is_active=True).select_related("lab"),
        "sessions": session_records.live_sessions(user),
        "current_key": stored_key(request.session.session_key),
        "codes_left": services.recovery_codes_left(user),
    })


@require_http_methods(["GET", "POST"])
@any_member
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@transaction.non_atomic_requests
def account_password(request):
    form = ChangePasswordForm(request.user, request.POST or None)
    if request.method == "POST" and (refused := guard_current_password(request, form)):
        return refused
    if request.method == "POST" and form.is_valid():
        change_password_in_session(request, form.cleaned_data["new_password1"])
        messages.success(request, "Mot de passe modifié ; vos autres sessions ont été fermées.")
        return redirect("account")
    return render(request, "accounts/account_password.html", {"form": form})


@require_http_methods(["GET", "POST"])
@any_member
@sudo_required
@never_cache
def account_recovery(request):
    if request.method == "POST":
        codes = services.regenerate_recovery_codes(request.user)
        return render(request, "accounts/recovery_codes.html",
                      {"codes": codes, "continue_url": "/compte/"})
    return render(request, "accounts/account_recovery.html",
                  {"codes_left": services.recovery_codes_left(request.user)})


@require_http_methods(["GET", "POST"])
@any_member
@sudo_required
@sensitive_post_parameters("code")
@never_cache
def account_mfa(request):
    """Replace the TOTP app: the old one keeps working until the new one is confirmed."""
    user = request.user
    device = services.pending_totp(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.confirm_totp(user, device, form.cleaned_data["code"])
        if codes is not None:
            device.refresh_from_db()
            django_otp.login(request, device)
            return render(request, "accounts/recovery_codes.html",
                          {"codes": codes, "continue_url": "/compte/"})
        form.add_error("code", BAD_CODE)
    return render(request, "accounts/account_mfa.html", {
        "form": form, "qr": qr_svg(device.config_url), "secret": grouped_secret(device),
    })


@require_POST
@any_member
def account_logout_all(request):
    """Log out everywhere, this browser included (e.g. after forgetting a session)."""
    user = request.user
    count = session_records.end_all_sessions(user)
    for lab in _labs(user):
        journal("LOGOUT", lab=lab, user=user, object_type="accounts.User", object_id=user.pk,
                detail={"reason": "everywhere", "sessions": count})
    logout(request)
    messages.success(request, f"{count} session(s) fermée(s), y compris celle-ci.")
    return redirect("login")


@require_http_methods(["GET", "POST"])
@any_member
@sensitive_post_parameters("password", "code")
@never_cache
@transaction.non_atomic_requests
def sudo(request):
    """Re-authentication (password + code) before a sensitive action."""
    user = request.user
    nxt = safe_next(request, request.POST.get("next") or request.GET.get("next")) or "/compte/"
    form = SudoForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        block = _refuse_locked(request, user.username, user)
        if block:
            logout(request)
            messages.error(request, block.message)
            return redirect("login")
        device = None
        if user.check_password(form.cleaned_data["password"]):
            device, _ = _verify_code(user, form.cleaned_data["code"])
        if device:
            sessions.grant_sudo(request.session)
            return _replay(request, nxt) or redirect(nxt)
        block = record_failure(request, user.username, user, "sudo")
        if block:
            logout(request)
            messages.error(request, block.message)
            return redirect("login")
        form.add_error(None, "Mot de passe ou code incorrect.")
    return render(request, "accounts/sudo.html", {
        "form": form, "next": nxt,
        "pending": sessions.PENDING_ACTION in request.session})


def _replay(request, nxt: str):
    """Run the button posted before the re-authentication (issue 24, item 6), as if posted
    now: the sudo form's CSRF token was checked, and only a sudo-protected view with no
    typed field is ever remembered (decorators.sudo_required)."""
    path = sessions.pop_pending_action(request.session, nxt)
    if not path:
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if not getattr(match.func, "sudo_required", False):
        return None
    # The view must not see the password and code just typed.
    request.POST = QueryDict(mutable=False)
    request.path = request.path_info = path
    return match.func(request, *match.args, **match.kwargs)
