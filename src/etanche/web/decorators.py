"""View decorators: role permissions, sudo mode, and the login steps.

Other apps use `require_permission(Perm.X)` on every view and `sudo_required`
on sensitive actions (e.g. approving an export).
"""

from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from etanche.accounts.permissions import Perm, has_permission
from etanche.web import sessions

# Attribute read by AccessMiddleware: a view reachable before login is complete.
STEP_ATTR = "accounts_step"
ANY_STEP = "any"


def login_step(step: str):
    """Mark a view as one step of the login (reachable before the step is passed)."""

    def decorate(view):
        setattr(view, STEP_ATTR, step)
        return view

    return decorate


def require_permission(perm: Perm, *, reveals: tuple[Perm, ...] = ()):
    """403 unless the request's membership grants `perm` (declared in permissions.py).

    `reveals` declares the permissions no view requires but this one consults itself,
    with `has_permission`, to show a part of its page (clinical information): the
    permissions test counts them as used.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_permission(getattr(request, "membership", None), perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.required_permission = perm
        wrapper.reveals_permissions = frozenset(reveals)
        return wrapper

    return decorate


def any_member(view):
    """Views every fully logged-in user may see (their own account): no role needed."""
    view.required_permission = None
    return view


def _return_path(request) -> str:
    if request.method == "GET":
        return request.get_full_path()
    # After re-authentication a POST cannot be replayed: return to the form's page.
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return urlsplit(referer).path
    return reverse("account")


def sudo_required(view):
    """Ask for password + TOTP again unless done in the last ETANCHE_SUDO_MINUTES."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if sessions.has_sudo(request.session):
            return view(request, *args, **kwargs)
        back = _return_path(request)
        if request.method == "POST" and set(request.POST) <= {"csrfmiddlewaretoken"}:
            # A button with nothing typed (approve, unlock...): done right after the
            # re-authentication instead of being clicked again (issue 24, item 6). Kept in
            # the session, not in the URL: only an action the user posted is replayed.
            sessions.remember_pending_action(request.session, request.path, back)
        else:
            sessions.pop_pending_action(request.session, None)
        return redirect(f"{reverse('sudo')}?{urlencode({'next': back})}")

    wrapper.sudo_required = True
    return wrapper


def require_sudo_now(request) -> None:
    """For services called outside a decorated view: refuse without fresh re-auth."""
    if not sessions.has_sudo(request.session):
        raise PermissionDenied
