"""Personal API tokens: the FHIR API's credential, one named person's, never more than theirs.

A token is created by a named user (web page under sudo, or `etanche tokens create`
with the TOTP on stdin), shown once, and only a keyed digest of it is stored
(vault.instance.api_token_digests): a copy of the database authenticates nobody.
It is bound to the user's membership in one lab and to the role held when it was
made: what it may do is, at every request, the intersection of its scopes, that
role and the user's current role in that lab. A user disabled, a membership
ended or a role lowered takes the token's authority with it; a role raised gives
it nothing. It expires (at most ETANCHE_API_TOKEN_MAX_DAYS, 365 by default), can
be revoked, shows when it was last used, is rate-limited per token, and locks
after ETANCHE_API_TOKEN_FAILURES refused authorisations (journaled TOKEN_LOCKOUT,
which the watch rules can raise as an alert).

Scopes, SMART-style: `patient/<Resource>.<read|write|*>` or `user/...` (the same
here: Étanche has no patient-context launch; both mean "as this user"), with
`*` for every resource, plus `etanche/clinical.read` for the clinical
information of requests. SCOPE_PERMISSIONS says which permission of the role
table each scope needs: the API checks both at each entry point.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from etanche.accounts.apitoken import ApiToken
from etanche.accounts.permissions import Perm, has_permission, role_has
from etanche.accounts.usage import OverLimit, count_windows
from etanche.journal.models import Action, Outcome
from etanche.journal.services import record as journal
from etanche.vault import instance

PREFIX = "etk_"
TOKEN_BYTES = 32
OBJECT_TYPE = "accounts.ApiToken"
LAST_USE_PRECISION = timedelta(seconds=60)  # one write per minute of use, not per request

RESOURCES = ("Patient", "Practitioner", "Coverage", "ServiceRequest", "Specimen",
             "Organization")
WRITABLE = ("Patient", "ServiceRequest")
CLINICAL = "etanche/clinical.read"
_SCOPE = re.compile(r"^(patient|user)/(\*|[A-Za-z]+)\.(read|write|\*)$")

# What each (resource, access) needs in the role table; None: any member of the lab.
SCOPE_PERMISSIONS: dict[tuple[str, str], tuple[Perm | None, ...]] = {
    ("Patient", "read"): (Perm.PATIENT_READ, Perm.PATIENT_SEARCH),
    ("Patient", "write"): (Perm.PATIENT_WRITE,),
    ("Practitioner", "read"): (Perm.PATIENT_READ,),
    ("Coverage", "read"): (Perm.PATIENT_READ,),
    ("ServiceRequest", "read"): (Perm.ORDER_READ,),
    ("ServiceRequest", "write"): (Perm.ORDER_WRITE,),
    ("Specimen", "read"): (Perm.ORDER_READ,),
    ("Organization", "read"): (None,),
    ("clinical", "read"): (Perm.CLINICAL_READ,),
}


# --- scopes ---------------------------------------------------------------------------


def _parsed(scope: str) -> tuple[str, str] | None:
    if scope == CLINICAL:
        return ("clinical", "read")
    match = _SCOPE.match(scope)
    if not match:
        return None
    _, resource, access = match.groups()
    if resource != "*" and resource not in RESOURCES:
        return None
    return resource, access


def parse_scopes(text) -> tuple[str, ...]:
    """Space- or comma-separated scopes, checked; ValidationError (French) otherwise."""
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text or [])
    if not items:
        raise ValidationError("Indiquez au moins une portée (par exemple patient/Patient.read).")
    unknown = [s for s in items if _parsed(s) is None]
    if unknown:
        raise ValidationError(
            "Portée inconnue : " + ", ".join(unknown[:5]) + ". Forme attendue : "
            "patient/<Ressource>.read|write|* ou user/..., ressources : " + ", ".join(RESOURCES)
            + f", ou {CLINICAL}.")
    for scope in items:
        resource, access = _parsed(scope)
        if access == "write" and resource not in ("*", *WRITABLE):
            raise ValidationError(f"Portée {scope} : la ressource {resource} est en lecture "
                                  "seule dans l'API.")
    return tuple(dict.fromkeys(items))


def _expand(scope: str) -> set[tuple[str, str]]:
    resource, access = _parsed(scope)
    resources = RESOURCES if resource == "*" else (resource,)
    accesses = ("read", "write") if access == "*" else (access,)
    return {(r, a) for r in resources for a in accesses if (r, a) in SCOPE_PERMISSIONS}


def granted(scopes, resource: str, access: str) -> bool:
    """Whether `scopes` name (resource, access): "clinical" for etanche/clinical.read."""
    return any((resource, access) in _expand(s) for s in scopes)


def role_can_use(role: str, scope: str) -> bool:
    return any(perm is None or role_has(role, perm)
               for pair in _expand(scope) for perm in SCOPE_PERMISSIONS[pair])


# --- validity -------------------------------------------------------------------------

UNITS = {"h": 3600, "d": 86400}


def max_validity() -> timedelta:
    return timedelta(days=settings.ETANCHE_API_TOKEN_MAX_DAYS)


def parse_validity(text) -> timedelta:
    """ "90d", "12h" -> timedelta between one hour and the maximum (one year by default)."""
    text = str(text or "").strip().lower()
    if len(text) < 2 or text[-1] not in UNITS or not text[:-1].isdigit() or len(text) > 8:
        raise ValidationError("Durée de validité invalide : un nombre suivi de h ou d "
                              "(par exemple 90d).")
    validity = timedelta(seconds=int(text[:-1]) * UNITS[text[-1]])
    if not timedelta(hours=1) <= validity <= max_validity():
        raise ValidationError(f"Durée de validité invalide : entre 1 heure et "
                              f"{max_validity().days} jours.")
    return validity


# --- lifecycle ------------------------------------------------------------------------


def _clean_label(label) -> str:
    label = " ".join(str(label or "").split())
    if not label:
        raise ValidationError("Donnez un nom au jeton (le logiciel qui l'utilisera).")
    if len(label) > 100:
        raise ValidationError("Le nom du jeton dépasse 100 caractères.")
    return label


def create_token(membership, *, scopes, validity: timedelta, label: str,
                 via: str = "web") -> tuple[ApiToken, str]:
    """A new token of `membership` (checked active by the caller) and its secret, returned
    once. Scopes the member's role cannot use at all are refused, not silently kept."""
    if membership is None or not membership.is_active:
        raise ValidationError("Aucun rôle actif dans ce laboratoire.")
    if not membership.user.is_active:
        raise ValidationError("Ce compte est désactivé.")
    scopes = parse_scopes(scopes)
    useless = [s for s in scopes if not role_can_use(membership.role, s)]
    if useless:
        raise ValidationError(f"Votre rôle ({membership.get_role_display()}) ne permet pas "
                              f"la portée {', '.join(useless)}.")
    if not timedelta(0) < validity <= max_validity():
        raise ValidationError(f"Durée de validité invalide : au plus {max_validity().days} "
                              "jours.")
    label = _clean_label(label)
    secret = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=membership.user, lab_id=membership.lab_id, role=membership.role, label=label,
            digest=instance.api_token_digests(secret)[0], scopes=" ".join(scopes),
            created_at=now, expires_at=now + validity)
        journal(lab=membership.lab, user=membership.user, action=Action.TOKEN_CREATE,
                object_type=OBJECT_TYPE, object_id=token.pk,
                detail={"scopes": list(scopes), "days": validity.days, "via": via})
    return token, secret


def tokens_of(user, lab=None):
    rows = ApiToken.objects.filter(user=user).select_related("lab")
    return rows.filter(lab_id=getattr(lab, "pk", lab)) if lab is not None else rows


def revoke(token: ApiToken, *, actor, via: str = "web") -> bool:
    """Revoke `token` (the actor's own: the caller checks); False if it already was."""
    with transaction.atomic():
        done = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
            revoked_at=timezone.now())
        if done:
            journal(lab=token.lab, user=actor, action=Action.TOKEN_REVOKE,
                    object_type=OBJECT_TYPE, object_id=token.pk, detail={"via": via})
    return bool(done)


# --- at each API request ---------------------------------------------------------------


@dataclass
class Bearer:
    token: ApiToken
    membership: object  # accounts.Membership, active, of the token's lab

    @property
    def user(self):
        return self.token.user

    @property
    def lab(self):
        return self.membership.lab

    def allows(self, resource: str, access: str, perm: Perm | None) -> bool:
        """The token names (resource, access) and both the token's role and the user's
        current one grant `perm` (None: membership enough)."""
        if not granted(self.token.scope_list, resource, access):
            return False
        if perm is None:
            return True
        return role_has(self.token.role, perm) and has_permission(self.membership, perm)


def authenticate(secret: str) -> tuple[Bearer | None, str]:
    """(Bearer, "") for a usable token, else (None, reason in French)."""
    if not secret or len(secret) > 200 or not secret.startswith(PREFIX):
        return None, "Jeton d'API absent ou mal formé."
    token = (ApiToken.objects.select_related("user", "lab")
             .filter(digest__in=instance.api_token_digests(secret)).first())
    if token is None:
        return None, "Jeton d'API inconnu."
    if token.revoked_at:
        return None, "Ce jeton d'API a été révoqué."
    if token.locked_at:
        return None, ("Ce jeton d'API est verrouillé après des refus répétés : créez-en un "
                      "autre.")
    if token.expires_at <= timezone.now():
        return None, "Ce jeton d'API a expiré."
    membership = (token.user.memberships.select_related("lab", "user")
                  .filter(lab_id=token.lab_id).first())
    if not token.user.is_active or membership is None or not membership.is_active:
        return None, "Le compte de ce jeton n'a plus d'accès à ce laboratoire."
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USE_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return Bearer(token, membership), ""


def rate(token: ApiToken) -> OverLimit | None:
    """Count one request of `token`; an OverLimit (nothing counted) past a window."""
    return count_windows(token.user_id, f"api{token.pk}", [
        (settings.ETANCHE_API_REQUESTS_PER_MINUTE, 60),
        (settings.ETANCHE_API_REQUESTS_PER_HOUR, 3600)])


def refused(bearer: Bearer, *, what: str) -> bool:
    """Journal a refused authorisation of `bearer`; lock the token past the limit.
    Returns True when this refusal locked it. Runs in its own transaction."""
    token = bearer.token
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(failures=F("failures") + 1)
        failures = ApiToken.objects.filter(pk=token.pk).values_list("failures", flat=True).get()
        locks = failures >= settings.ETANCHE_API_TOKEN_FAILURES and not token.locked_at
        entries = [{"action": Action.API_DENIED, "object_type": OBJECT_TYPE,
                    "object_id": token.pk, "outcome": Outcome.DENIED,
                    "detail": {"what": what, "failures": failures}}]
        if locks:
            ApiToken.objects.filter(pk=token.pk, locked_at=None).update(locked_at=timezone.now())
            entries.append({"action": Action.TOKEN_LOCKOUT, "object_type": OBJECT_TYPE,
                            "object_id": token.pk, "outcome": Outcome.DENIED,
                            "detail": {"failures": failures}})
        journal(lab=bearer.lab, user=bearer.user, entries=entries)
    return locks
