"""Deny by default, with the second factor and the session limits.

A subclass of Django's LoginRequiredMiddleware (the system check
etanche.E001 accepts it): views still opt out with @login_not_required only.
An authenticated user is not yet let in: until the TOTP step is passed (or the
first TOTP device enrolled) and the one-time password changed, only the view
of the pending step answers; any other URL redirects there. Once fully in, the
step views answer no more (they redirect home).
"""

import time

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, resolve_url

from etanche.accounts import services
from etanche.accounts import sessions as session_records
from etanche.accounts.audit import journal
from etanche.web import sessions
from etanche.web.decorators import ANY_STEP, STEP_ATTR

# API clients get a 401 they can act on rather than a redirect to an HTML form.
API_PREFIX = "/fhir/"
# Between the password and the TOTP code: long enough to open the app, no more.
PENDING_LOGIN_SECONDS = 300
PASSWORD_AT = "accounts.password_at"  # noqa: S105  (a session key name)

EXPIRED_MESSAGES = {
    "idle": "Votre session a expiré après une période d'inactivité. Reconnectez-vous.",
    "max_age": "Votre session a atteint sa durée maximale. Reconnectez-vous.",
    "ended": "Cette session a été fermée. Reconnectez-vous.",
    "pending": "Le délai pour saisir le code est dépassé. Reconnectez-vous.",
}


def next_step(user) -> str | None:
    """URL name of the login step this user must pass next, or None when fully in."""
    # A user fresh from authenticate() has not been through OTPMiddleware: unverified.
    verified = getattr(user, "is_verified", None)
    if not (verified and verified()):
        return "otp_verify" if services.confirmed_totp(user) else "mfa_enrol"
    # A one-time password, or a privileged account's password past its maximum age.
    if user.must_change_password or services.password_expired(user):
        return "password_first_change"
    return None


class AccessMiddleware(LoginRequiredMiddleware):
    def handle_no_permission(self, request, view_func):
        # `next` is the path alone: a query string may carry identifiers (issue 16, item 8).
        return redirect_to_login(request.path, resolve_url(self.get_login_url(view_func)),
                                 self.get_redirect_field_name(view_func))

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.membership = None
        if not getattr(view_func, "login_required", True):
            return None
        user = request.user
        if not user.is_authenticated:
            if request.path.startswith(API_PREFIX):
                response = HttpResponse("authentication required\n", status=401,
                                        content_type="text/plain")
                response["WWW-Authenticate"] = 'Bearer realm="etanche"'
                return response
            return self.handle_no_permission(request, view_func)

        reason = self._expired(request, user)
        if reason:
            return self._end(request, user, reason)

        step = next_step(user)
        view_step = getattr(view_func, STEP_ATTR, None)
        if step is None:
            if view_step not in (None, ANY_STEP):
                # A login step belongs to the half-logged-in session it is pending for:
                # served to a full session it would let a stolen cookie reset credentials.
                return redirect("home")
            request.membership = services.primary_membership(user)
            return None
        if view_step in (step, ANY_STEP):
            return None
        return redirect(step)

    @staticmethod
    def _expired(request, user) -> str | None:
        session = request.session
        if user.is_verified():
            # The record's check rides on the activity note (web/sessions.touch).
            return sessions.expired_reason(session) or (
                None if sessions.touch(request) else "ended"
            )
        started = session.get(PASSWORD_AT)
        if started is None or time.time() - started > PENDING_LOGIN_SECONDS:
            # A half-login (password only) that stalls is abandoned, not kept.
            return "pending" if not session.get(sessions.LOGIN_AT) else None
        return None

    @staticmethod
    def _end(request, user, reason: str):
        session_key = request.session.session_key
        for lab in [m.lab for m in user.memberships.select_related("lab")] or [None]:
            journal("LOGOUT", lab=lab, user=user, object_type="accounts.User",
                    object_id=user.pk, detail={"reason": reason})
        session_records.end_session(session_key)
        logout(request)
        messages.info(request, EXPIRED_MESSAGES[reason])
        return redirect("login")
