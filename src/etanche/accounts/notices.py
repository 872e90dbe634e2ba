"""Security notices: a mail to the person each time a credential of theirs changes.

A thief holding a session (or a password and a factor) who replaces them is
then seen by the one person who knows it was not them. The mail says what
changed and when, never a secret, and leaves after the change commits.
"""

import logging
import smtplib
from functools import partial

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from etanche.accounts.models import User

logger = logging.getLogger(__name__)

PASSWORD = "password"  # noqa: S105  (a kind of notice)
FACTOR_ENROLLED = "factor_enrolled"
FACTOR_REPLACED = "factor_replaced"
RECOVERY_CODES = "recovery_codes"

_WHAT = {
    PASSWORD: ("votre mot de passe a été changé", "votre mot de passe a été changé"),
    FACTOR_ENROLLED: ("une application d'authentification a été enregistrée",
                      "une application d'authentification (second facteur) a été enregistrée"),
    FACTOR_REPLACED: ("votre application d'authentification a été remplacée",
                      "votre application d'authentification (second facteur) a été remplacée "
                      "et de nouveaux codes de secours ont été créés ; l'ancienne ne fonctionne "
                      "plus"),
    RECOVERY_CODES: ("vos codes de secours ont été renouvelés",
                     "vos codes de secours ont été renouvelés ; les anciens ne fonctionnent plus"),
}

BODY = """Bonjour {first_name},

Le {day} à {time}, {what} sur votre compte Étanche « {username} ».

Si c'est vous, il n'y a rien à faire.
Si ce n'est pas vous, prévenez sans attendre l'administrateur de votre
laboratoire : quelqu'un d'autre utilise sans doute votre compte.

Ce message ne contient aucun secret. Étanche ne vous demandera jamais votre
mot de passe ni un code par courriel.
"""


def notify(user: User, kind: str) -> None:
    """Tell `user` by mail that `kind` changed, once the surrounding transaction commits."""
    if kind not in _WHAT:
        raise ValueError(f"unknown security notice: {kind}")
    transaction.on_commit(partial(_send, user.pk, kind, timezone.now()))


def _send(user_id: int, kind: str, when) -> None:
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.email:
        return
    subject, what = _WHAT[kind]
    local = timezone.localtime(when)
    body = BODY.format(first_name=user.first_name, day=local.strftime("%d/%m/%Y"),
                       time=local.strftime("%H:%M"), what=what, username=user.username)
    try:
        send_mail(f"Étanche : {subject}", body, None, [user.email])
    except (smtplib.SMTPException, OSError) as exc:
        # The change stands: a mail server down must not undo it. The class only: an
        # SMTP error can quote the address.
        logger.warning("security notice %s to user %s not sent: %s", kind, user_id,
                       exc.__class__.__name__)
