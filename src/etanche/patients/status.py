"""Identity status of the INS referential (RNIV), as a small pure state machine.

PROV  provisional: the default.
VALI  validated: checked against a high-trust identity document, the check recorded.
RECUP retrieved: the INS was returned by the INSi teleservice.
QUAL  qualified: both. Only a QUAL identity may carry the INS in exchanges.

INSi is reached with a health-professional card from referenced software. Étanche has no
INSi connection, so RECUP and QUAL are refused with the reason, never pretended.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from django.core.exceptions import ValidationError


class IdentityStatus(StrEnum):
    PROV = "PROV"
    RECUP = "RECUP"
    VALI = "VALI"
    QUAL = "QUAL"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    IdentityStatus.PROV: "Identité provisoire",
    IdentityStatus.RECUP: "Identité récupérée",
    IdentityStatus.VALI: "Identité validée",
    IdentityStatus.QUAL: "Identité qualifiée",
}


class DocumentKind(StrEnum):
    """Identity documents of high trust, the only ones that make an identity VALI."""

    NATIONAL_ID_CARD = "cni"
    PASSPORT = "passeport"
    RESIDENCE_PERMIT = "titre_sejour"


@dataclass(frozen=True)
class DocumentCheck:
    """The record that a person's traits were compared with a document by a staff member."""

    kind: str
    checked_on: date
    checked_by: str  # pseudonymous user id


INSI_UNAVAILABLE = (
    "Statut {status} impossible : il exige une récupération de l'INS par le téléservice INSi, "
    "et aucune connexion INSi n'est configurée dans Étanche (l'INSi s'interroge avec une carte "
    "de professionnel de santé depuis un logiciel référencé). L'identité reste {fallback}."
)


# Statuses whose identity has not been checked against a document.
_WITHOUT_DOCUMENT = (IdentityStatus.PROV, IdentityStatus.RECUP)


def insi_configured() -> bool:
    """Whether an INSi connection exists. None does: no connector has been written."""
    return False


def check_document(check: DocumentCheck | None, *, today: date | None = None) -> DocumentCheck:
    if check is None:
        raise ValidationError(
            "Statut VALI impossible : aucun contrôle de pièce d'identité n'est enregistré.",
            code="status_no_document",
        )
    if check.kind not in DocumentKind._value2member_map_:
        raise ValidationError(
            "Ce justificatif n'est pas une pièce à haut niveau de confiance : carte nationale "
            "d'identité, passeport ou titre de séjour.",
            code="status_low_trust_document",
        )
    if check.checked_on > (today or date.today()):
        raise ValidationError(
            "La date du contrôle de la pièce d'identité est dans le futur.",
            code="status_document_date",
        )
    if not check.checked_by:
        raise ValidationError(
            "Le contrôle de la pièce d'identité doit nommer la personne qui l'a fait.",
            code="status_document_user",
        )
    return check


def next_status(
    current: IdentityStatus | str,
    target: IdentityStatus | str,
    *,
    document: DocumentCheck | None = None,
    today: date | None = None,
) -> IdentityStatus:
    """The status reached from `current` when asking for `target`, or a French refusal.

    Moving down (a doubt on the identity) is always allowed; moving up needs its evidence.
    """
    try:
        current, target = IdentityStatus(current), IdentityStatus(target)
    except ValueError:
        raise ValidationError(
            "Statut d'identité inconnu : PROV, RECUP, VALI ou QUAL.", code="status_unknown"
        ) from None
    if target in (IdentityStatus.RECUP, IdentityStatus.QUAL) and not insi_configured():
        raise ValidationError(
            INSI_UNAVAILABLE.format(status=target.value, fallback=current.value),
            code="status_no_insi",
        )
    if target is IdentityStatus.VALI and current in _WITHOUT_DOCUMENT:
        check_document(document, today=today)
    return target


def allowed_targets(current: IdentityStatus | str) -> dict[IdentityStatus, str]:
    """For a UI or CLI: each status and why it cannot be reached now ("" when it can)."""
    reasons = {}
    for target in IdentityStatus:
        if target in (IdentityStatus.RECUP, IdentityStatus.QUAL) and not insi_configured():
            reasons[target] = "aucune connexion INSi n'est configurée"
        elif target is IdentityStatus.VALI and IdentityStatus(current) in _WITHOUT_DOCUMENT:
            reasons[target] = "exige un contrôle de pièce d'identité à haut niveau de confiance"
        else:
            reasons[target] = ""
    return reasons
