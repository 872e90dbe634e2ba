"""Export profiles: the ONE place that says which fields may leave, and for what purpose.

An export carries the fields of its profile and nothing else (docs/exports.md, F1:
the 2021 migration extracted far more than asked). Readers (records.py) only
unseal what a profile names; formats (csv_layout.py, fhir_ndjson.py) only
write what the record holds. docs/exports.md tabulates every profile.

Fields live at three levels: the patient, each of their requests, each
specimen of a request. A profile with no request field reads no request.
"""

from dataclasses import dataclass
from functools import cache

PATIENT, REQUEST, SPECIMEN = "patient", "request", "specimen"


@dataclass(frozen=True)
class Field:
    name: str
    level: str
    label: str  # French, shown on the request form ("what this profile carries")


FIELDS: dict[str, Field] = {f.name: f for f in (
    Field("patient_id", PATIENT, "identifiant interne du dossier"),
    Field("pseudonym", PATIENT, "pseudonyme propre à cet export"),
    Field("birth_name", PATIENT, "nom de naissance"),
    Field("first_names", PATIENT, "prénoms de naissance"),
    Field("used_name", PATIENT, "nom utilisé"),
    Field("used_first_name", PATIENT, "prénom utilisé"),
    Field("birth_date", PATIENT, "date de naissance"),
    Field("birth_year", PATIENT, "année de naissance"),
    Field("sex", PATIENT, "sexe"),
    Field("birthplace_code", PATIENT, "code INSEE du lieu de naissance"),
    Field("birthplace_label", PATIENT, "lieu de naissance"),
    Field("ins", PATIENT, "matricule INS (NIR ou NIA)"),
    Field("ins_oid", PATIENT, "OID du matricule INS"),
    Field("identity_status", PATIENT, "statut de l'identité (PROV, RECUP, VALI, QUAL)"),
    Field("id_document_kind", PATIENT, "pièce d'identité contrôlée"),
    Field("id_document_checked_on", PATIENT, "date du contrôle de la pièce"),
    Field("street", PATIENT, "adresse"),
    Field("postal_code", PATIENT, "code postal"),
    Field("city", PATIENT, "commune"),
    Field("phones", PATIENT, "téléphones"),
    Field("email", PATIENT, "courriel"),
    Field("amo_regime", PATIENT, "régime d'assurance maladie"),
    Field("amo_fund", PATIENT, "caisse d'assurance maladie"),
    Field("amo_centre", PATIENT, "centre de gestion"),
    Field("amc_insurer", PATIENT, "organisme complémentaire"),
    Field("amc_contract", PATIENT, "contrat complémentaire"),
    Field("physician_name", PATIENT, "médecin traitant"),
    Field("physician_rpps", PATIENT, "RPPS du médecin traitant"),
    Field("blood_group", PATIENT, "groupe sanguin"),
    Field("notes", PATIENT, "notes sur le patient"),
    Field("request_id", REQUEST, "identifiant interne de la demande"),
    Field("request_number", REQUEST, "numéro de demande"),
    Field("request_date", REQUEST, "date et heure de la demande"),
    Field("request_month", REQUEST, "mois de la demande"),
    Field("request_status", REQUEST, "état de la demande"),
    Field("urgent", REQUEST, "urgence"),
    Field("prescriber_name", REQUEST, "prescripteur"),
    Field("prescriber_rpps", REQUEST, "RPPS du prescripteur"),
    Field("prescription_date", REQUEST, "date de l'ordonnance"),
    Field("test_codes", REQUEST, "codes des analyses demandées"),
    Field("test_labels", REQUEST, "libellés des analyses demandées"),
    Field("clinical_info", REQUEST, "renseignements cliniques"),
    Field("answers", REQUEST, "réponses pré-analytiques"),
    Field("fasting", REQUEST, "à jeun"),
    Field("request_notes", REQUEST, "notes de la demande"),
    Field("specimen_barcode", SPECIMEN, "code-barres du prélèvement"),
    Field("specimen_container", SPECIMEN, "contenant"),
    Field("specimen_sampled_at", SPECIMEN, "date et heure du prélèvement"),
    Field("specimen_received_at", SPECIMEN, "date et heure de réception"),
)}

_IDENTITY = ("birth_name", "first_names", "used_name", "used_first_name", "birth_date", "sex",
             "birthplace_code", "birthplace_label")
_INS = ("ins", "ins_oid", "identity_status")
_INS_CHECK = ("id_document_kind", "id_document_checked_on")
_CONTACT = ("street", "postal_code", "city", "phones", "email")
_COVERAGE = ("amo_regime", "amo_fund", "amo_centre", "amc_insurer", "amc_contract")
_PHYSICIAN = ("physician_name", "physician_rpps")
_REQUEST = ("request_id", "request_number", "request_date", "request_status", "urgent",
            "prescriber_name", "prescriber_rpps", "prescription_date", "test_codes",
            "test_labels", "clinical_info", "answers", "fasting", "request_notes")
_SPECIMEN = ("specimen_barcode", "specimen_container", "specimen_sampled_at",
             "specimen_received_at")
_EVERYTHING = ("patient_id", *_IDENTITY, *_INS, *_INS_CHECK, *_CONTACT, *_COVERAGE,
               *_PHYSICIAN, "blood_group", "notes", *_REQUEST, *_SPECIMEN)


@dataclass(frozen=True)
class Profile:
    name: str
    label: str  # French
    purpose: str  # French: what the recipient does with it
    fields: tuple[str, ...]
    single_patient: bool = False  # subject access: one person's data, for that person
    pseudonymised: bool = False
    # A canary row (watch) goes into the file, except where it would do harm: a person's
    # own data holds only theirs (issue 24, item 3).
    canary: bool = True
    # The recipient loads the file into software (migration, transfer): the approver is
    # shown the canary's identifier, to pass on out of band so it can be set aside.
    announces_canary: bool = False

    def has(self, name: str) -> bool:
        return name in self.fields

    def at(self, level: str) -> tuple[str, ...]:
        return _at(self.fields, level)

    @property
    def reads_requests(self) -> bool:
        return bool(self.at(REQUEST) or self.at(SPECIMEN))

    def field_labels(self) -> list[tuple[str, str]]:
        return [(name, FIELDS[name].label) for name in self.fields]


@cache  # called per row on the export's hot path
def _at(fields: tuple[str, ...], level: str) -> tuple[str, ...]:
    return tuple(f for f in fields if FIELDS[f].level == level)


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile(
        "migration", "Migration vers un autre logiciel",
        "Tout ce dont le logiciel suivant a besoin pour reprendre les dossiers : identité, "
        "INS et statut, contact, couverture, médecin traitant, demandes et prélèvements, notes.",
        _EVERYTHING, announces_canary=True,
    ),
    Profile(
        "transfer", "Transmission à un laboratoire spécialisé",
        "Ce qu'un laboratoire de référence doit savoir pour réaliser une analyse : traits "
        "d'identité, INS, les analyses demandées et les renseignements cliniques qu'elles "
        "exigent. Ni adresse, ni téléphone, ni courriel, ni couverture.",
        ("patient_id", *_IDENTITY, *_INS, "request_id", "request_number", "request_date",
         "urgent", "test_codes", "test_labels", "clinical_info", "answers", "fasting",
         *_SPECIMEN), announces_canary=True,
    ),
    Profile(
        "subject-access", "Droit d'accès de la personne (RGPD art. 15 et 20)",
        "Tout ce que le laboratoire détient sur une seule personne, remis à elle-même.",
        _EVERYTHING, single_patient=True, canary=False,
    ),
    Profile(
        "research", "Extraction pseudonymisée pour la recherche",
        "Données sans nom, sans NIR ni contact : un pseudonyme propre à l'export, l'année de "
        "naissance, le sexe, le groupe sanguin, le mois et les analyses de chaque demande. "
        "Aucun texte libre (il peut contenir des noms).",
        ("pseudonym", "birth_year", "sex", "blood_group", "request_month", "request_status",
         "urgent", "test_codes", "test_labels"),
        pseudonymised=True,
    ),
)}

FORMATS = {"ndjson": "FHIR R4 NDJSON", "csv": "CSV (disposition documentée)"}


def get(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown export profile {name!r}; one of {', '.join(PROFILES)}") from None
