"""Blood groups (ABO + RhD) and how often each occurs in France.

Frequencies: Établissement français du sang (EFS), as published by CNews on 2022-09-28 and by
toutsurlatransfusion.com (see data/SOURCES.md). They are whole percentages summing to 100.
"""

from django.core.exceptions import ValidationError

ABO = ("A", "B", "AB", "O")
RHD = ("+", "-")
BLOOD_GROUPS = tuple(abo + rhd for abo in ABO for rhd in RHD)

FRANCE_PERCENT = {
    "A+": 38,
    "O+": 36,
    "B+": 8,
    "A-": 7,
    "O-": 6,
    "AB+": 3,
    "B-": 1,
    "AB-": 1,
}

_RHD_WORDS = {"+": "+", "-": "-", "POS": "+", "NEG": "-", "POSITIF": "+", "NEGATIF": "-"}


def normalize_blood_group(value: str) -> str:
    """ "a pos", "AB −", "O+" -> "A+", "AB-", "O+"."""
    text = (value or "").upper().replace("\u2212", "-").replace("É", "E").replace(" ", "")
    for abo in sorted(ABO, key=len, reverse=True):
        if text.startswith(abo) and text[len(abo) :] in _RHD_WORDS:
            return abo + _RHD_WORDS[text[len(abo) :]]
    raise ValidationError(
        "Groupe sanguin inconnu : A, B, AB ou O suivi du rhésus + ou -.", code="blood_group"
    )
