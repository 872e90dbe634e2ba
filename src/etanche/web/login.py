"""The login steps: password, TOTP (or recovery code), enrolment, first password change."""

import math
import secrets
import time

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from etanche.accounts import services, throttle
from etanche.accounts import sessions as session_records
from etanche.accounts.audit import journal, journal_failure
from etanche.accounts.devices import RecoveryCodeDevice
from etanche.accounts.models import User
from etanche.web import sessions
from etanche.web.decorators import ANY_STEP, login_step
from etanche.web.forms.accounts import (
    WRONG_PASSWORD,
    ChangePasswordForm,
    CodeForm,
    LoginForm,
    NewPasswordForm,
)
from etanche.web.login_steps import (
    NEXT_KEY,
    continue_login,
    grouped_secret,
    qr_svg,
    safe_next,
)
from etanche.web.middleware import PASSWORD_AT, PENDING_LOGIN_SECONDS, next_step

BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."
BAD_CODE = "Code incorrect ou déjà utilisé."


def _labs(user):
    if user is None:
        return [None]
    return [m.lab for m in user.memberships.select_related("lab")] or [None]


DEVICE_COOKIE = "etanche_device"
DEVICE_SALT = "etanche.known-device"
DEVICE_MAX_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie
_PLACE_SCOPES = (throttle.Kind.ADDRESS, throttle.Kind.ALL)


def browser_device(request) -> str | None:
    """The random token of this browser's signed cookie, or None (absent or forged)."""
    return request.get_signed_cookie(DEVICE_COOKIE, default=None, salt=DEVICE_SALT)


def _hand_out_device(request, response):
    # Given to every browser that opens the login page; it becomes a known device of an
    # account only after a full login from it (throttle.succeeded).
    if browser_device(request) is None:
        response.set_signed_cookie(
            DEVICE_COOKIE, secrets.token_urlsafe(32), salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE,
            secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Strict")
    return response


def _journal_throttle(user, started, bursts, target) -> None:
    for scope, detail in [*((kind, {"kind": "throttle", "scope": kind}) for kind in started),
                          *((b.scope, {"kind": "burst", "scope": b.scope,
                                       "attempts": b.attempts, "minutes": b.minutes})
                            for b in bursts)]:
        own = scope not in _PLACE_SCOPES
        for lab in _labs(user) if own else [None]:
            journal_failure("LOCKOUT", outcome="ok", lab=lab, user=None, detail=detail,
                            **(target if own else {}))


def record_failure(request, username: str, user, reason: str,
                   action: str = "LOGIN_FAILED") -> throttle.Wait | None:
    """Count and journal a failed attempt; return the wait now in force, if any.

    Runs outside any transaction of the request so the entry survives whatever
    happens next (the journal of failed logins is what alerting reads). A failure
    on an account is journaled in its labs each time (the throttle bounds them);
    attempts on no account are folded into one entry per address and window.
    """
    failure = throttle.failed(username, sessions.client_address(request),
                              browser_device(request))
    target = {"object_type": "accounts.User", "object_id": user.pk} if user else {}
    if user is not None:
        for lab in _labs(user):
            journal_failure(action, lab=lab, user=None, detail={"reason": reason}, **target)
    elif failure.report:
        journal_failure("LOGIN_FAILED", lab=None, user=None,
                        detail={"reason": reason, "count": failure.report})
    _journal_throttle(user, failure.started, failure.bursts, target)
    return failure.wait


def _refuse_locked(request, username, user) -> throttle.Wait | None:
    """The wait refusing this attempt, if any, journaled once per scope and window."""
    address, device = sessions.client_address(request), browser_device(request)
    wait = throttle.check(username, address, device)
    if wait:
        refusal = throttle.refused(username, address, device, wait)
        target = {"object_type": "accounts.User", "object_id": user.pk} if user else {}
        if refusal.report:
            for lab in _labs(user):
                journal_failure("LOGIN_FAILED", outcome="denied", lab=lab, user=None,
                                detail={"reason": "throttled", "count": refusal.report},
                                **target)
        _journal_throttle(user, [], refusal.bursts, target)
    return wait


@require_http_methods(["GET", "POST"])
@login_not_required
@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@transaction.non_atomic_requests
def login_view(request):
    if request.user.is_authenticated and next_step(request.user) is None:
        return redirect("home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        known = User.objects.filter(username__iexact=username).first()
        block = _refuse_locked(request, username, known)
        if block is None:
            user = authenticate(request, username=username,
                                password=form.cleaned_data["password"])
            if user is not None:
                login(request, user)
                request.session[PASSWORD_AT] = time.time()
                nxt = safe_next(request, request.POST.get("next"))
                if nxt:
                    request.session[NEXT_KEY] = nxt
                return _hand_out_device(request, redirect(next_step(user) or "home"))
            block = record_failure(request, username, known, "password")
        form.add_error(None, block.message if block else BAD_CREDENTIALS)
    return _hand_out_device(request, render(
        request, "registration/login.html",
        {"form": form, "next": safe_next(request, request.GET.get("next")) or ""}))


def _verify_code(user, code: str):
    """The device that accepts `code`: the TOTP app first, then a recovery code."""
    totp = services.confirmed_totp(user)
    if totp and code.isdigit():
        device = django_otp.verify_token(user, totp.persistent_id, code)
        if device:
            return device, "totp"
    for static in RecoveryCodeDevice.objects.filter(user=user, confirmed=True):
        device = django_otp.verify_token(user, static.persistent_id, code)
        if device:
            return device, "recovery_code"
    return None, None


def _otp_wait(device) -> int | None:
    """Seconds before django-otp's own throttle lets `device` check a code again, or None.

    After a wrong code the device refuses every code, the right one included, for a few
    seconds; saying "incorrect" then misled the person who typed it right (issue 24, 7).
    """
    if device is None:
        return None
    allowed, info = device.verify_is_allowed()
    if allowed or not (info or {}).get("locked_until"):
        return None
    return max(1, math.ceil((info["locked_until"] - timezone.now()).total_seconds()))


def _too_soon(seconds: int) -> str:
    return (f"Trop d'essais : réessayez dans {seconds} seconde{'s' if seconds > 1 else ''} "
            "(le code n'a pas été vérifié).")


def _fail_code(request, form, reason, wait: int | None = None):
    """Count the attempt (a code sent too soon counts too: the lockout bounds guesses
    however fast they come) and say why it was refused."""
    user = request.user
    block = record_failure(request, user.username, user, reason)
    if block:
        logout(request)
        messages.error(request, block.message)
        return redirect("login")
    form.add_error("code", _too_soon(wait) if wait else BAD_CODE)
    return None


def _finish_login(request, device, factor: str):
    user = request.user
    django_otp.login(request, device)
    # A new key for the full session: a key learnt before the second factor opens nothing.
    old_key = request.session.session_key
    request.session.cycle_key()
    session_records.rekey(old_key, request.session.session_key)
    throttle.succeeded(user, sessions.client_address(request), browser_device(request))
    sessions.open_session(request, user)
    for lab in _labs(user):
        journal("LOGIN", lab=lab, user=user, object_type="accounts.User", object_id=user.pk,
                detail={"factor": factor})


@require_http_methods(["GET", "POST"])
@login_step("otp_verify")
@sensitive_post_parameters("code")
@never_cache
@transaction.non_atomic_requests
def otp_verify(request):
    user = request.user
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        block = _refuse_locked(request, user.username, user)
        if block:
            logout(request)
            messages.error(request, block.message)
            return redirect("login")
        code = form.cleaned_data["code"]
        wait = _otp_wait(services.confirmed_totp(user)) if code.isdigit() else None
        if wait:
            refused = _fail_code(request, form, "otp", wait)
            return refused or render(request, "accounts/otp_verify.html", {"form": form})
        device, factor = _verify_code(user, code)
        if device:
            _finish_login(request, device, factor)
            if factor == "recovery_code":
                left = services.recovery_codes_left(user)
                messages.warning(request, f"Code de secours utilisé : il vous en reste {left}.")
            return continue_login(request)
        refused = _fail_code(request, form, "otp")
        if refused:
            return refused
    return render(request, "accounts/otp_verify.html", {"form": form})


@require_http_methods(["GET", "POST"])
@login_step("mfa_enrol")
@sensitive_post_parameters("code")
@never_cache
@transaction.non_atomic_requests
def mfa_enrol(request):
    user = request.user
    device = services.pending_totp(user)
    form = CodeForm(request.POST or None)
    wait = _otp_wait(device) if request.method == "POST" and form.is_valid() else None
    if wait and (refused := _fail_code(request, form, "enrolment", wait)):
        return refused
    if not wait and request.method == "POST" and form.is_valid():
        codes = services.confirm_totp(user, device, form.cleaned_data["code"])
        if codes is not None:
            device.refresh_from_db()
            _finish_login(request, device, "totp_enrolment")
            return render(request, "accounts/recovery_codes.html",
                          {"codes": codes, "continue_url": _continue_url(request)})
        refused = _fail_code(request, form, "enrolment")
        if refused:
            return refused
    return render(request, "accounts/mfa_enrol.html", {
        "form": form, "qr": qr_svg(device.config_url), "secret": grouped_secret(device),
    })


def _continue_url(request):
    return continue_login(request).url


@require_http_methods(["GET", "POST"])
@login_step("password_first_change")
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@transaction.non_atomic_requests
def password_first_change(request):
    user = request.user
    form_class = NewPasswordForm if _password_just_typed(request) else ChangePasswordForm
    form = form_class(user, request.POST or None)
    if request.method == "POST" and (refused := guard_current_password(request, form)):
        return refused
    if request.method == "POST" and form.is_valid():
        change_password_in_session(request, form.cleaned_data["new_password1"])
        request.session.pop(PASSWORD_AT, None)
        messages.success(request, "Mot de passe enregistré.")
        return continue_login(request)
    return render(request, "accounts/password_first_change.html", {
        "form": form, "expired": not user.must_change_password,
        "max_days": settings.ETANCHE_PRIVILEGED_PASSWORD_MAX_DAYS,
    })


def _password_just_typed(request) -> bool:
    """The password typed at this login counts as the current one, for a few minutes only.

    Later in the session (a privileged password expiring mid-day) the page asks
    for it again: a stolen cookie alone must never set a password.
    """
    typed = request.session.get(PASSWORD_AT)
    return typed is not None and 0 <= time.time() - typed <= PENDING_LOGIN_SECONDS


def _throttled_out(request, wait):
    session_records.end_session(request.session.session_key)
    logout(request)
    messages.error(request, wait.message)
    return redirect("login")


def guard_current_password(request, form) -> HttpResponse | None:
    """Count a wrong current password like a failed login, journaled as a failed change.

    Returns the response that ends the session when the throttle holds the
    account (checked before the password is), else None: the form shows its errors.
    """
    user = request.user
    wait = _refuse_locked(request, user.username, user)
    if wait:
        return _throttled_out(request, wait)
    if form.is_valid() or not form.has_error("old_password", WRONG_PASSWORD):
        return None
    wait = record_failure(request, user.username, user, "current_password",
                          action="PASSWORD_CHANGE")
    return _throttled_out(request, wait) if wait else None


def change_password_in_session(request, new_password: str) -> None:
    """Change the password, keep this session (re-keyed), end every other one."""
    user = request.user
    old_key = request.session.session_key
    services.change_password(user, new_password, keep_session=old_key)
    update_session_auth_hash(request, user)
    session_records.rekey(old_key, request.session.session_key)


@require_POST
@login_step(ANY_STEP)
def logout_view(request):
    user = request.user
    if sessions.LOGIN_AT in request.session:
        for lab in _labs(user):
            journal("LOGOUT", lab=lab, user=user, object_type="accounts.User",
                    object_id=user.pk, detail={"reason": "user"})
    session_records.end_session(request.session.session_key)
    logout(request)
    messages.info(request, "Vous êtes déconnecté(e). À bientôt.")
    return redirect("login")
