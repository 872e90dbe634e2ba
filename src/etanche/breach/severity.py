"""Severity of a breach by the ENISA method: SE = DPC x EI + CB.

Source: ENISA, "Recommendations for a methodology of the assessment of severity of personal
data breaches", working document v1.0, December 2013.
- DPC, data processing context: the base score of the data categories (1 simple data,
  2 behavioural, 3 financial, 4 sensitive), here 4 whenever the file holds health data. A
  medical lab's patient list is health data by itself (being a patient of a lab says
  something about one's health), so matched patients count as health data too.
- EI, ease of identification: 0.25 negligible, 0.5 limited, 0.75 significant, 1 maximum;
  maximum when a row carries a NIR/INS or a full name with a date of birth.
- CB, circumstances of the breach, added: loss of confidentiality 0.25 (to known recipients)
  or 0.5 (to unknown recipients: a file found circulating), loss of integrity 0.25/0.5, loss
  of availability 0.25/0.5, malicious intent 0.5.
- Levels: SE < 2 low, 2 <= SE < 3 medium, 3 <= SE < 4 high, SE >= 4 very high.
"""

from etanche.tabular.classify import ART33_LABELS, SENSITIVE

LEVELS = ((4.0, "very_high", "très élevée"), (3.0, "high", "élevée"),
          (2.0, "medium", "moyenne"), (0.0, "low", "faible"))
CIRCUMSTANCES = {"none": 0.0, "limited": 0.25, "wide": 0.5}
CIRCUMSTANCES_FR = {"none": "aucune", "limited": "limitée (destinataires connus)",
                    "wide": "étendue (destinataires inconnus)"}
DIRECT_IDENTIFIERS = {"nir", "ins"}


def _dpc(categories: set[str], matched: int) -> tuple[float, str]:
    if categories & SENSITIVE or matched:
        why = ("données de santé (art. 9 RGPD) : "
               + (", ".join(ART33_LABELS[c] for c in sorted(categories & SENSITIVE))
                  if categories & SENSITIVE
                  else "la liste des patients d'un laboratoire de biologie médicale"))
        return 4.0, why
    if categories & DIRECT_IDENTIFIERS:
        return 3.0, ("identifiant national (NIR) : rattaché à l'assurance maladie, "
                     "usurpation et fraude possibles")
    if categories:
        return 1.0, "données d'identification et de contact simples"
    return 1.0, "aucune catégorie de données personnelles reconnue"


def _ei(categories: set[str]) -> tuple[float, str]:
    named = bool(categories & {"surname", "full_name"})
    if categories & DIRECT_IDENTIFIERS:
        return 1.0, "maximale : NIR ou INS présent"
    if named and "birth_date" in categories:
        return 1.0, "maximale : nom et date de naissance"
    if named and categories & {"first_name", "full_name", "address", "phone", "email"}:
        return 0.75, "importante : nom avec prénom ou coordonnées"
    if categories & {"email", "phone", "address", "surname"}:
        return 0.5, "limitée : coordonnées ou nom seuls"
    return 0.25, "négligeable : aucune donnée directement identifiante"


def assess(categories, matched: int, *, confidentiality: str = "wide",
           integrity: str = "none", availability: str = "none",
           malicious: bool = False) -> dict:
    """The ENISA score with each factor and its reason (French, for the report)."""
    categories = set(categories)
    dpc, dpc_why = _dpc(categories, matched)
    ei, ei_why = _ei(categories)
    parts = {"confidentiality": CIRCUMSTANCES[confidentiality],
             "integrity": CIRCUMSTANCES[integrity],
             "availability": CIRCUMSTANCES[availability],
             "malicious": 0.5 if malicious else 0.0}
    cb = sum(parts.values())
    score = round(dpc * ei + cb, 2)
    key, label = next((k, lab) for floor, k, lab in LEVELS if score >= floor)
    return {
        "method": "ENISA 2013 : SE = DPC x EI + CB",
        "score": score, "level": key, "level_fr": label,
        "dpc": {"score": dpc, "why": dpc_why},
        "ei": {"score": ei, "why": ei_why},
        "cb": {"score": cb, "parts": parts,
               "why": (f"perte de confidentialité {CIRCUMSTANCES_FR[confidentiality]}, "
                       f"d'intégrité {CIRCUMSTANCES_FR[integrity]}, "
                       f"de disponibilité {CIRCUMSTANCES_FR[availability]}, "
                       f"{'intention malveillante' if malicious else 'sans intention établie'}")},
    }
