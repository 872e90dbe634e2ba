"""Pre-analytical vocabulary: specimen kinds, containers, questions, rejection reasons.

These are Étanche's product lists, not reference data: the NABM says nothing
about specimens or tubes. Each lab's catalogue picks a specimen kind per test
(defaults in data/lab_defaults.csv, see docs/catalogue.md) and the lab admin
can change it. The container of a specimen kind is what the front office
draws and labels; tests sharing a container share one tube.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Container:
    key: str
    label: str  # French, as printed on the label and shown to the préleveur


CONTAINERS = {c.key: c for c in (
    Container("edta", "Tube EDTA (bouchon violet)"),
    Container("citrate", "Tube citraté (bouchon bleu)"),
    Container("citrate_esr", "Tube citraté VS (bouchon noir)"),
    Container("serum", "Tube sec avec gel (bouchon jaune)"),
    Container("heparin", "Tube hépariné (bouchon vert)"),
    Container("fluoride", "Tube fluoré (bouchon gris)"),
    Container("blood_gas", "Seringue à gaz du sang"),
    Container("blood_culture", "Flacons d'hémoculture"),
    Container("urine", "Flacon à urines"),
    Container("urine_sterile", "Flacon stérile à urines (ECBU)"),
    Container("stool", "Pot à selles"),
    Container("swab", "Écouvillon"),
    Container("smear", "Milieu de recueil cervico-vaginal"),
    Container("scotch", "Lame (scotch-test)"),
    Container("semen", "Flacon stérile (sperme)"),
    Container("breath", "Tubes d'air expiré"),
)}


@dataclass(frozen=True)
class SpecimenKind:
    key: str
    label: str
    container: str


SPECIMEN_KINDS = {s.key: s for s in (
    SpecimenKind("edta", "Sang total EDTA", "edta"),
    SpecimenKind("citrate", "Plasma citraté", "citrate"),
    SpecimenKind("citrate_esr", "Sang citraté (VS)", "citrate_esr"),
    SpecimenKind("serum", "Sérum", "serum"),
    SpecimenKind("heparin", "Plasma hépariné", "heparin"),
    SpecimenKind("fluoride", "Plasma fluoré", "fluoride"),
    SpecimenKind("blood_gas", "Sang artériel", "blood_gas"),
    SpecimenKind("blood_culture", "Sang (hémoculture)", "blood_culture"),
    SpecimenKind("urine", "Urines", "urine"),
    SpecimenKind("urine_sterile", "Urines (milieu de jet)", "urine_sterile"),
    SpecimenKind("urine_first", "Urines (premier jet)", "urine"),
    SpecimenKind("stool", "Selles", "stool"),
    SpecimenKind("vaginal_swab", "Prélèvement vaginal", "swab"),
    SpecimenKind("throat_swab", "Prélèvement de gorge", "swab"),
    SpecimenKind("cervical_smear", "Prélèvement cervico-vaginal", "smear"),
    SpecimenKind("scotch_test", "Scotch-test anal", "scotch"),
    SpecimenKind("semen", "Sperme", "semen"),
    SpecimenKind("breath", "Air expiré", "breath"),
)}


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    kind: str  # "text", "yesno", "date" or "datetime"
    help: str = ""


# Asked when a chosen test needs them; the answers are sealed with the request.
QUESTIONS = {q.key: q for q in (
    Question("anticoagulant", "Traitement anticoagulant en cours", "text",
             "Médicament (AVK, héparine, AOD…), posologie, heure de la dernière prise ; "
             "« aucun » sinon."),
    Question("pregnancy", "Grossesse en cours", "yesno"),
    Question("last_period", "Date des dernières règles", "date",
             "Laisser vide si sans objet."),
    Question("fasting", "Patient à jeun (au moins 8 heures)", "yesno"),
    Question("last_dose", "Dernière prise du médicament dosé", "datetime",
             "Date et heure de la dernière prise."),
    Question("sampling_time", "Heure de prélèvement prescrite", "text",
             "Par exemple « 8 h » pour un cortisol."),
)}

# Non-conformities that make the lab refuse a specimen (in clear: not about the person).
REJECT_REASONS = {
    "hemolysed": "Échantillon hémolysé",
    "clotted": "Échantillon coagulé",
    "insufficient": "Volume insuffisant",
    "wrong_container": "Contenant non conforme à l'analyse",
    "identification": "Identification absente ou discordante",
    "delay": "Délai d'acheminement dépassé",
    "temperature": "Conditions de transport non respectées",
    "prescription": "Prescription absente ou illisible",
}


def container_of(specimen_key: str) -> Container:
    return CONTAINERS[SPECIMEN_KINDS[specimen_key].container]
