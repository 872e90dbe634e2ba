"""Break-the-glass: opening what one's role does not normally open, for a reason, for a while.

    glass.grant(lab, user, order_id, reason=GlassReason.X, text="...")   # journaled, alerted
    glass.active(lab, user, order_id)                                      # the grant or None

The one scope today is the clinical information of a request (renseignements
cliniques, internal note), which the front office and the DPO do not read in their
daily work. The grant lasts ETANCHE_BREAK_GLASS_MINUTES (30 by default), names one
request and one person, and its BREAK_GLASS journal entry carries the reason's code:
the watch rule "break-glass" raises an alert for the DPO to review. The free text is
sealed in the grant (it may name anyone) and shown to the DPO on the alert's page.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.watch.models import GlassGrant, GlassReason

CLINICAL = "clinical"
MIN_TEXT = 10
MAX_TEXT = 500


def grant(lab, user, order_id: int, *, reason: str, text: str) -> GlassGrant:
    errors = {}
    if reason not in GlassReason.values:
        errors["reason"] = ["Choisissez un motif dans la liste."]
    text = (text or "").strip()
    if not MIN_TEXT <= len(text) <= MAX_TEXT:
        errors["text"] = [f"Expliquez en {MIN_TEXT} à {MAX_TEXT} caractères pourquoi cet "
                          "accès est nécessaire."]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    minutes = settings.ETANCHE_BREAK_GLASS_MINUTES
    with transaction.atomic():
        row = GlassGrant(lab_id=getattr(lab, "pk", lab), user_id=user.pk, scope=CLINICAL,
                         object_id=int(order_id), reason=reason, granted_at=now,
                         expires_at=now + timedelta(minutes=minutes))
        row.set_sealed({"text": text})
        row.save(force_insert=True)
        journal(lab=lab, user=user, action=Action.BREAK_GLASS, object_type="order",
                object_id=order_id, purpose=GlassReason(reason).label,
                detail={"reason": reason, "scope": CLINICAL, "minutes": minutes,
                        "grant": row.pk})
    return row


def active(lab, user, order_id) -> GlassGrant | None:
    return (GlassGrant.objects.for_lab(lab)
            .filter(user_id=user.pk, scope=CLINICAL, object_id=int(order_id),
                    expires_at__gt=timezone.now()).order_by("-expires_at").first())


def grants_for(lab, grant_ids) -> list[GlassGrant]:
    return list(GlassGrant.objects.for_lab(lab).filter(pk__in=list(grant_ids)).order_by("pk"))
