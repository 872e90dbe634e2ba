"""Activation links: how a person gets credentials nobody else ever held (issue 16, item 3).

Creating an account or resetting its password or second factor issues one
link, single-use and expiring (72 hours by default), that the web mails to the
person and the CLI prints for the operator to hand over. Opening it, the person
chooses their password and enrols their own authenticator app
(services.complete_activation). Only a keyed digest of the link's random token
is stored (vault.instance.activation_digests): a copy of the database opens no
pending link. A new link for a person replaces their pending one.
"""

import logging
import secrets
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models
from django.utils import timezone

from etanche.lib.personal_data import Protection as P
from etanche.vault import instance

logger = logging.getLogger(__name__)

DEFAULT_VALIDITY = timedelta(hours=72)
MAX_VALIDITY = timedelta(days=30)
TOKEN_BYTES = 32
UNITS = {"m": 60, "h": 3600, "d": 86400}

INVALID = "Ce lien d'activation n'est pas valable. Demandez-en un nouveau à l'administrateur."
EXPIRED = ("Ce lien d'activation a expiré. Demandez-en un nouveau à l'administrateur de votre "
           "laboratoire.")
SPENT = ("Ce lien d'activation a déjà été utilisé : il ne sert qu'une fois. Connectez-vous, ou "
         "demandez un nouveau lien à l'administrateur.")


class Activation(models.Model):
    class Kind(models.TextChoices):
        CREATE = "create", "création du compte"
        PASSWORD = "reset-password", "réinitialisation du mot de passe"  # noqa: S105
        MFA = "reset-mfa", "réinitialisation de la double authentification"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="activations")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    PERSONAL_DATA = {
        "id": P.NONE, "user": P.PSEUDONYMOUS, "kind": P.NONE, "digest": P.HASHED,
        "created_at": P.STAFF_CLEAR, "expires_at": P.NONE, "used_at": P.STAFF_CLEAR,
    }

    class Meta:
        db_table = "accounts_activation"

    def __str__(self):
        return f"activation {self.kind} of user {self.user_id}"

    @property
    def refusal(self) -> str | None:
        """Why this link no longer works (French), or None."""
        if self.used_at is not None:
            return SPENT
        if self.expires_at <= timezone.now():
            return EXPIRED
        return None


def parse_validity(text: str) -> timedelta:
    """ "90m", "12h", "3d" -> timedelta, between one hour and 30 days; ValidationError otherwise."""
    text = (text or "").strip().lower()
    if len(text) < 2 or text[-1] not in UNITS or not text[:-1].isdigit():
        raise ValidationError("Durée de validité invalide : un nombre suivi de m, h ou d "
                              "(par exemple 72h ou 3d).")
    validity = timedelta(seconds=int(text[:-1]) * UNITS[text[-1]])
    if not timedelta(hours=1) <= validity <= MAX_VALIDITY:
        raise ValidationError("Durée de validité invalide : entre 1 heure et 30 jours.")
    return validity


def issue(user, kind: str, validity: timedelta = DEFAULT_VALIDITY) -> tuple[Activation, str]:
    """A new link's row and its token (returned once, never stored); caller holds a transaction."""
    if not timedelta(0) < validity <= MAX_VALIDITY:
        raise ValidationError("Durée de validité invalide : entre 1 heure et 30 jours.")
    Activation.objects.filter(user=user, used_at=None).delete()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    activation = Activation.objects.create(
        user=user, kind=kind, digest=instance.activation_digests(token)[0], created_at=now,
        expires_at=now + validity)
    return activation, token


def find(token: str) -> Activation | None:
    """The activation a token opens (spent or expired ones included), or None."""
    if not token or len(token) > 100:
        return None
    return (Activation.objects.select_related("user")
            .filter(digest__in=instance.activation_digests(token)).first())


def link(base_url: str, token: str) -> str:
    """The link to hand over: `base_url` is the activation page's absolute URL."""
    return f"{base_url}?jeton={token}"


BODY = """Bonjour {first_name},

Un compte Étanche a été {what} à votre nom (identifiant « {username} »).
Pour l'activer, ouvrez ce lien, choisissez votre mot de passe et enregistrez
votre application d'authentification :

{link}

Ce lien ne sert qu'une fois et expire le {day} à {time}. Personne d'autre que
vous ne connaîtra votre mot de passe. Si vous n'attendiez pas ce message,
prévenez l'administrateur de votre laboratoire.
"""

_WHAT = {Activation.Kind.CREATE: "créé",
         Activation.Kind.PASSWORD: "réinitialisé (mot de passe)",
         Activation.Kind.MFA: "réinitialisé (double authentification)"}


def send_link(activation: Activation, url: str) -> bool:
    """Mail the link to the person's own address; False if the mail server refused it."""
    user = activation.user
    expires = timezone.localtime(activation.expires_at)
    body = BODY.format(first_name=user.first_name, what=_WHAT[activation.kind],
                       username=user.username, link=url, day=expires.strftime("%d/%m/%Y"),
                       time=expires.strftime("%H:%M"))
    try:
        send_mail("Étanche : activez votre compte", body, None, [user.email])
    except (smtplib.SMTPException, OSError) as exc:
        # The class only: an SMTP error can quote the address.
        logger.warning("activation link for user %s not sent: %s", user.pk,
                       exc.__class__.__name__)
        return False
    return True
