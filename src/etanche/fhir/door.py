"""The API's one door: every route is an `endpoint`, which authenticates the personal
token, counts it against its rate limit, checks the method's scope and permission
once, and turns every failure into an OperationOutcome.

No session and no CSRF (a token in the Authorization header is not sent by a browser
on its own, unlike a cookie); Django's login middleware is told to let these views
through (`login_not_required`) because this door refuses on its own, with 401s a
client can act on. Each method of a route declares what it needs (`Need`: a scope
resource and access, a permission of accounts/permissions.py); a method not
declared is a 405 once the token is known (anonymous callers learn nothing: 401).
Inside, entries the services journal name the user and the token
("julien.martin (jeton API #12)", journal/actor.py).
"""

import logging
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.views.decorators.csrf import csrf_exempt

from etanche.accounts import tokens
from etanche.accounts.permissions import Perm
from etanche.fhir.outcome import FhirError, error_response, issue
from etanche.journal.actor import acting_through

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Need:
    resource: str | None  # scope resource ("Patient", "clinical"); None: any valid token
    access: str = "read"
    perm: Perm | None = None
    reveals: tuple[Perm, ...] = ()  # consulted by the view itself (clinical information)


def _secret(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def authenticate(request) -> tokens.Bearer:
    bearer, reason = tokens.authenticate(_secret(request))
    if bearer is None:
        raise FhirError(401, reason + " Envoyez « Authorization: Bearer <jeton> ».")
    return bearer


def validation_outcome(exc: ValidationError, paths: dict, root: str) -> FhirError:
    """A service's French ValidationError -> 422 with one issue per field and its path."""
    messages = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    issues = [issue(" ".join(texts), "business-rule",
                    [paths.get(field, root)] if field != "__all__" else [root])
              for field, texts in messages.items()]
    return FhirError(422, issues[0]["diagnostics"], issues=issues)


def endpoint(**needs: Need):
    """Declare a route: `endpoint(GET=Need("Patient", "read", Perm.PATIENT_READ), ...)`.
    The view is called as view(request, bearer, *args, **kwargs)."""

    def decorate(view):
        @wraps(view)
        def door(request, *args, **kwargs):
            try:
                bearer = authenticate(request)
                need = needs.get(request.method)
                if need is None:
                    raise FhirError(405, f"Méthode {request.method} non prise en charge ici.",
                                    headers={"Allow": ", ".join(sorted(needs))})
                over = tokens.rate(bearer.token)
                if over is not None:
                    raise FhirError(429, "Trop de requêtes pour ce jeton : réessayez dans "
                                         f"{over.retry_after} s.",
                                    headers={"Retry-After": str(over.retry_after)})
                if need.resource and not bearer.allows(need.resource, need.access, need.perm):
                    tokens.refused(bearer, what=f"{request.method} {need.resource}")
                    raise FhirError(403, f"Ce jeton ou votre rôle ne permet pas cette "
                                         f"opération ({need.resource}.{need.access}).")
                with acting_through(f"jeton API #{bearer.token.pk}"):
                    return view(request, bearer, *args, **kwargs)
            except FhirError as error:
                return error_response(error)
            except ValidationError as exc:
                return error_response(validation_outcome(exc, {}, view.__name__))

        door = csrf_exempt(login_not_required(door))
        door.api_needs = dict(needs)
        door.required_permission = None
        door.reveals_permissions = frozenset(
            {n.perm for n in needs.values() if n.perm} | {p for n in needs.values()
                                                          for p in n.reveals})
        return door

    return decorate


def public(view):
    """A route that answers without a token (the CapabilityStatement only)."""

    @wraps(view)
    def door(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return error_response(FhirError(405, "Seule la méthode GET est prise en charge ici.",
                                            headers={"Allow": "GET"}))
        return view(request, *args, **kwargs)

    return csrf_exempt(login_not_required(door))
