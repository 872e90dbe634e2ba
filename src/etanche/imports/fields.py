"""The fields an import fills, the names other software gives them, and their conversion.

A source cell is converted to what `patients.intake.clean` (or the orders
services) takes, and nothing more: dates to ISO from the mapping's format (or
the usual French ones), sex codes to M/F, first names split into a list. Every
check is the registration form's own, in intake. A conversion that fails gives
a French reason that never quotes the value (the report holds no identity).
"""

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

PATIENT_FIELDS = (
    "source_id", "birth_name", "first_names", "used_name", "used_first_name", "birth_date",
    "sex", "birthplace_code", "nir", "nir_key", "street", "postal_code", "city", "phone", "phone2",
    "email", "amo_regime", "amo_fund", "amo_centre", "amc_insurer", "amc_contract",
    "physician_name", "physician_rpps", "blood_group", "notes",
)  # fmt: skip
REQUEST_FIELDS = (
    "source_id", "patient_source_id", "number", "date", "prescriber_name", "prescriber_rpps",
    "tests", "status", "urgent", "birth_name", "first_names", "birth_date", "nir", "nir_key",
    "site",
)  # fmt: skip
DATE_FIELDS = {"birth_date", "date"}

LABELS = {
    "source_id": "identifiant dans l'ancien logiciel",
    "patient_source_id": "identifiant du patient dans l'ancien logiciel",
    "birth_name": "nom de naissance", "first_names": "prénoms de naissance",
    "used_name": "nom d'usage", "used_first_name": "prénom d'usage",
    "birth_date": "date de naissance", "sex": "sexe", "birthplace_code": "lieu de naissance",
    "nir": "NIR", "nir_key": "clé du NIR",
    "street": "adresse", "postal_code": "code postal", "city": "commune",
    "phone": "téléphone", "phone2": "second téléphone", "email": "courriel",
    "amo_regime": "régime AMO", "amo_fund": "caisse AMO", "amo_centre": "centre AMO",
    "amc_insurer": "organisme complémentaire", "amc_contract": "contrat complémentaire",
    "physician_name": "médecin traitant", "physician_rpps": "RPPS du médecin",
    "blood_group": "groupe sanguin", "notes": "note", "number": "numéro de demande",
    "date": "date de la demande", "prescriber_name": "prescripteur",
    "prescriber_rpps": "RPPS du prescripteur", "tests": "codes NABM", "status": "statut",
    "urgent": "urgence", "site": "site",
}

# Header words (accents, case and punctuation ignored), most specific first.
SYNONYMS = {
    "source_id": ["id patient", "identifiant patient", "num patient", "numero patient",
                  "n patient", "no patient", "code patient", "ipp", "id", "identifiant",
                  "patient id", "dossier", "num dossier", "numero dossier"],
    "patient_source_id": ["id patient", "identifiant patient", "ipp", "num patient",
                          "numero patient", "code patient", "patient id", "patient",
                          "n dossier", "no dossier", "num dossier", "numero dossier",
                          "dossier", "dossier patient"],
    "birth_name": ["nom de naissance", "nom naissance", "nom jeune fille", "nom jf",
                   "nom patronymique", "nom de famille", "birth name", "family name",
                   "nom", "surname", "last name"],
    "used_name": ["nom d usage", "nom usage", "nom marital", "nom epouse", "used name"],
    "first_names": ["prenoms de naissance", "prenoms", "prenom de naissance", "prenom",
                    "first names", "first name", "given names", "given name"],
    "used_first_name": ["prenom d usage", "prenom usuel", "prenom usage"],
    "birth_date": ["date de naissance", "date naissance", "ddn", "ne le", "nee le",
                   "naissance", "date nais", "date naiss", "date de naiss", "dob", "birth date",
                   "birthdate"],
    "sex": ["sexe", "sex", "genre", "gender", "civilite sexe"],
    "birthplace_code": ["code lieu naissance", "lieu de naissance", "lieu naissance",
                        "commune naissance", "code insee naissance", "insee naissance",
                        "lieu naiss", "lieu de naiss", "commune de naissance", "code naissance",
                        "code lieu naiss", "insee naiss", "ne a", "nee a", "birthplace"],
    "nir": ["nir", "numero securite sociale", "num securite sociale", "n securite sociale",
            "no securite sociale", "num ss", "numero ss", "n ss", "no ss", "secu",
            "securite sociale", "ins", "matricule ins", "insee"],
    # Many programs keep the NIR's 13 characters and its key in two columns.
    "nir_key": ["cle nir", "cle du nir", "cle ss", "cle secu", "cle securite sociale",
                "cle insee", "cle"],
    "street": ["adresse", "rue", "voie", "address", "street", "adresse 1"],
    "postal_code": ["code postal", "cp", "postal code", "zip"],
    "city": ["ville", "commune", "localite", "city"],
    "phone": ["telephone", "tel", "portable", "mobile", "tel portable", "phone",
              "telephone 1", "tel 1"],
    "phone2": ["telephone 2", "tel 2", "tel fixe", "telephone fixe", "fixe", "domicile"],
    "email": ["email", "e mail", "mail", "courriel", "adresse mail", "adresse email"],
    "amo_regime": ["regime", "regime amo", "code regime", "grand regime"],
    "amo_fund": ["caisse", "caisse amo", "code caisse"],
    "amo_centre": ["centre", "centre amo", "code centre", "centre gestion"],
    "amc_insurer": ["mutuelle", "amc", "complementaire", "organisme complementaire"],
    "amc_contract": ["contrat mutuelle", "num adherent", "numero adherent", "contrat amc",
                     "adherent"],
    "physician_name": ["medecin traitant", "medecin", "nom medecin", "physician"],
    "physician_rpps": ["rpps medecin", "rpps medecin traitant", "rpps"],
    "blood_group": ["groupe sanguin", "groupe", "gs", "blood group"],
    "notes": ["notes", "note", "commentaire", "commentaires", "remarques", "observations"],
    "number": ["numero demande", "num demande", "n demande", "no demande", "demande",
               "request number", "numero"],
    "date": ["date demande", "date de la demande", "date prescription", "date ordonnance",
             "date", "date prelevement", "request date"],
    "prescriber_name": ["prescripteur", "medecin prescripteur", "nom prescripteur",
                        "prescriber"],
    "prescriber_rpps": ["rpps prescripteur", "rpps", "prescriber rpps"],
    "tests": ["codes nabm", "nabm", "actes", "analyses", "codes", "examens", "tests"],
    "status": ["statut", "etat", "status"],
    "urgent": ["urgent", "urgence", "priorite"],
    "site": ["site", "site de prelevement", "lieu"],
}

# A request's own id is not a patient's: in a requests file, these name it.
REQUEST_SYNONYMS = SYNONYMS | {
    "source_id": ["id demande", "identifiant demande", "request id", "code demande"],
}

# What older programs write in a cell they have nothing for. In an optional field it means
# "none": refused as a phone or an address, it would keep the whole patient out. In a
# required field it stays what it is, and the registration's checks refuse it.
PLACEHOLDERS = frozenset({
    "-", "--", "---", ".", "?", "/", "nc", "n.c.", "n/c", "na", "n/a", "nd", "n.d.", "n/d",
    "néant", "neant", "inconnu", "inconnue", "non communiqué", "non communiquée",
    "non communique", "non renseigné", "non renseignée", "non renseigne", "aucun", "aucune",
    "null", "none",
})
OPTIONAL_FIELDS = frozenset({
    "used_name", "used_first_name", "nir", "nir_key", "street", "postal_code", "city",
    "phone", "phone2", "email", "amo_regime", "amo_fund", "amo_centre", "amc_insurer",
    "amc_contract", "physician_name", "physician_rpps", "blood_group", "prescriber_rpps",
})
_ZEROS_FIELDS = frozenset({"nir", "phone", "phone2"})  # "0000000000": no number


def is_placeholder(name: str, value: str) -> bool:
    """Whether an optional field's cell says it holds nothing (`value` already stripped)."""
    if name not in OPTIONAL_FIELDS or len(value) > 24:
        return False
    if value.lower() in PLACEHOLDERS:
        return True
    return name in _ZEROS_FIELDS and "0" in value and not value.strip("0 .-/")


SEX_CODES = {
    "m": "M", "h": "M", "1": "M", "homme": "M", "masculin": "M", "male": "M", "mr": "M",
    "monsieur": "M", "f": "F", "2": "F", "femme": "F", "feminin": "F", "female": "F",
    "mme": "F", "madame": "F", "mlle": "F",
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%d/%m/%y",
                "%Y/%m/%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M",
                "%d/%m/%Y %H:%M:%S")


class ConversionError(ValueError):
    """A cell that could not be converted; its message is French and names no value."""


def fold(text: str) -> str:
    """Header text as words: no accents, lower case, punctuation as spaces."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.lower()).split())


# The two writings nearly every file uses, read without strptime (a few microseconds instead
# of tens, on every row): two-digit day and month, four-digit year, ASCII digits. What
# strptime reads of them is that date; for the formats list, no format before these two
# reads them (tests/imports). Anything else, or an impossible date, takes strptime's path.
_PLAIN_DATES = {
    "%d/%m/%Y": (re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})"), (2, 1, 0)),
    "%Y-%m-%d": (re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})"), (0, 1, 2)),
}


def _plain_date(text: str, fmt: str | None) -> str:
    for name in (fmt,) if fmt else _PLAIN_DATES:
        pattern, order = _PLAIN_DATES.get(name, (None, None))
        found = pattern.fullmatch(text) if pattern else None
        if found:
            parts = found.groups()
            year, month, day = parts[order[0]], parts[order[1]], parts[order[2]]
            try:
                date(int(year), int(month), int(day))  # a real date, or ValueError
            except ValueError:
                return ""
            return f"{year}-{month}-{day}"
    return ""


def to_date(value: str, fmt: str | None, what: str) -> str:
    text = value.strip()
    if plain := _plain_date(text, fmt):
        return plain
    formats = (fmt,) if fmt else DATE_FORMATS
    for candidate in formats:
        try:
            return datetime.strptime(text, candidate).date().isoformat()
        except ValueError:
            continue
    shown = (fmt or "JJ/MM/AAAA").replace("%d", "JJ").replace("%m", "MM").replace(
        "%Y", "AAAA").replace("%y", "AA")
    raise ConversionError(f"La {what} n'est pas une date réelle au format {shown}.")


# A spreadsheet that took a 15-digit number for a number shows it as 1,85037E+14 (or
# 1.85037E14): the last digits are lost, so no check can say more than "11 characters".
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")


def to_number_text(value: str, what: str) -> str:
    """A NIR or other long number as written; refused when a spreadsheet rewrote it."""
    if _SCIENTIFIC.fullmatch(value.strip()):
        raise ConversionError(
            f"Le {what} est écrit en notation scientifique : un tableur l'a pris pour un "
            "nombre et a perdu ses derniers chiffres. Exportez cette colonne au format texte.")
    return value


# A sex column holds a handful of writings ("1", "F", "Féminin"): folding each cell again
# (Unicode decomposition and a regular expression) was a seventh of the parent's time.
_sex_key = lru_cache(maxsize=256)(fold)


def to_sex(value: str, codes: dict[str, str]) -> str:
    key = _sex_key(value)
    sex = codes.get(key) or codes.get(value.strip())
    if sex not in ("M", "F"):
        raise ConversionError("Le code de sexe n'est pas reconnu (attendu par exemple M/F, "
                              "H/F ou 1/2 ; précisez-le dans le fichier de correspondance).")
    return sex


def split_first_names(value: str) -> list[str]:
    """Birth first names: separated by commas when the source uses them, else by spaces."""
    parts = value.split(",") if "," in value else value.split()
    return [p.strip() for p in parts if p.strip()]


def looks_date(value: str) -> bool:
    text = value.strip()
    for fmt in DATE_FORMATS[:7]:
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return date(1880, 1, 1) <= day <= date(2100, 1, 1)
    return False
