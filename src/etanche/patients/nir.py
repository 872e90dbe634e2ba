"""INS numbers (NIR or NIA) and INSEE birthplace codes, checked against the INS traits.

Rules and their sources are in docs/identity.md. Errors are Django ValidationErrors with a
French message that names the problem; a message never repeats the number (the expected
key is the only figure shown). Things that may be legitimate but cannot be confirmed from
the shipped lists (a commune code that no longer exists, a historical department) are
returned as warnings, because refusing a real patient's true NIR is worse than asking the
user to look twice.
"""

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from stdnum import util as stdnum_util
from stdnum.fr import nir as stdnum_nir

from etanche.patients import refdata

# INS OIDs (ANS): which register the INS number comes from.
INS_OID_NIR = "1.2.250.1.213.1.4.8"
INS_OID_NIA = "1.2.250.1.213.1.4.9"
INS_OID_TEST = "1.2.250.1.213.1.4.10"
INS_OID_DEMO = "1.2.250.1.213.1.4.11"
INS_OIDS = {
    INS_OID_NIR: "NIR",
    INS_OID_NIA: "NIA",
    INS_OID_TEST: "INS de test",
    INS_OID_DEMO: "INS de démonstration",
}

SEX_DIGIT = {"M": "1", "F": "2"}
# Months written in a NIR when the civil record gives no month (see docs/identity.md).
UNKNOWN_MONTHS = frozenset(range(20, 43)) | frozenset(range(50, 100))
ABROAD = "99"
CORSICA_BEFORE_1976 = "20"
CORSICA_SPLIT_YEAR = 1976
# Algeria before independence: NIR departments 91-94, INSEE country code today.
ALGERIA_NIR_DEPARTMENTS = frozenset({"91", "92", "93", "94"})
ALGERIA_COUNTRY = "99352"


@dataclass(frozen=True)
class NirInfo:
    """A well-formed NIR or NIA, cut into its parts."""

    number: str  # 15 characters, compact, upper case
    sex_digit: str
    year: int  # two digits
    month: int
    birthplace: str  # 5 characters: department + commune, or 99 + country
    warnings: tuple[str, ...] = field(default=())

    @property
    def born_abroad(self) -> bool:
        return self.birthplace.startswith(ABROAD)

    @property
    def month_known(self) -> bool:
        return 1 <= self.month <= 12

    @property
    def department(self) -> str:
        return self.birthplace[:3] if self.birthplace[:2] in ("97", "98") else self.birthplace[:2]


# stdnum's compact maps look-alike characters one by one (a slow loop over each one) and
# drops spaces and dots; for ASCII text that is one str.translate with this table, built
# from stdnum's own cleaning of each ASCII character.
_ASCII_COMPACT = {
    ord(char): stdnum_util.clean(char, " .")
    for char in map(chr, range(128)) if stdnum_util.clean(char, " .") != char
}


def compact(value: str) -> str:
    value = value or ""
    if value.isascii():
        return value.translate(_ASCII_COMPACT).strip().upper()
    return stdnum_nir.compact(value)


def nir_key(first13: str) -> int:
    """The key of a 13-character body (2A counts as 19, 2B as 18)."""
    return int(stdnum_nir.calc_check_digits(first13))


def parse_nir(value: str, *, label: str = "NIR") -> NirInfo:
    """Format, key, sex digit, month and birthplace code of a NIR or NIA, without the traits."""
    number = compact(value)
    if not number:
        raise ValidationError(f"Le {label} est vide.", code="nir_empty")
    if len(number) != 15:
        raise ValidationError(
            f"Le {label} doit comporter 15 caractères (13 et une clé de 2 chiffres), "
            f"{len(number)} saisis.",
            code="nir_length",
        )
    if not (number[:5] + number[7:]).isdigit() or not (
        number[5:7].isdigit() or number[5:7] in ("2A", "2B")
    ):
        raise ValidationError(
            f"Le {label} ne contient que des chiffres, sauf 2A ou 2B (Corse) en 6e et 7e position.",
            code="nir_format",
        )
    expected = nir_key(number[:13])
    if int(number[13:]) != expected:
        raise ValidationError(
            f"La clé du {label} ne correspond pas (attendue {expected:02d}). Vérifiez chaque "
            "chiffre sur le justificatif plutôt que de corriger la clé seule.",
            code="nir_key",
        )
    sex_digit = number[0]
    if sex_digit not in ("1", "2"):
        if sex_digit in "345678":
            message = (
                f"Le premier chiffre du {label} ({sex_digit}) désigne un numéro provisoire de "
                "l'Assurance maladie, qui n'est pas un matricule INS : seuls 1 (homme) et "
                "2 (femme) sont admis."
            )
        else:
            message = f"Le premier chiffre du {label} doit être 1 (homme) ou 2 (femme)."
        raise ValidationError(message, code="nir_sex_digit")
    month = int(number[3:5])
    if not (1 <= month <= 12 or month in UNKNOWN_MONTHS):
        raise ValidationError(
            f"Le mois de naissance du {label} n'existe pas : 01 à 12, ou 20 à 42 et 50 à 99 "
            "quand l'acte de naissance ne donne pas le mois.",
            code="nir_month",
        )
    birthplace = number[5:10]
    warnings = _nir_birthplace_warnings(birthplace, label)
    return NirInfo(number, sex_digit, int(number[1:3]), month, birthplace, tuple(warnings))


def _nir_birthplace_warnings(birthplace: str, label: str) -> list[str]:
    if birthplace.startswith(ABROAD):
        if birthplace not in refdata.countries() or birthplace == "99100":
            raise ValidationError(
                f"Le code pays de naissance du {label} (99 suivi de 3 chiffres) est inconnu "
                "de la liste INSEE des pays.",
                code="nir_country",
            )
        return []
    if birthplace[:2] == "00":
        raise ValidationError(
            f"Le département de naissance du {label} ne peut pas être 00.", code="nir_department"
        )
    return _french_code_warnings(birthplace, f"du {label}")


def _french_code_warnings(code: str, whose: str) -> list[str]:
    """Warnings for a French commune code that the shipped lists cannot confirm."""
    if code in refdata.communes() or code in refdata.former_communes():
        return []
    if code[:2] == CORSICA_BEFORE_1976:
        if any(prefix + code[2:] in refdata.communes() for prefix in ("2A", "2B")):
            return []
        return [f"Commune de naissance corse {whose} absente de la liste INSEE : à vérifier."]
    department = code[:3] if code[:2] in ("97", "98") else code[:2]
    if department not in refdata.departments():
        return [
            f"Département de naissance {whose} absent de la liste actuelle (code historique ?) : "
            "à vérifier."
        ]
    return [
        f"Commune de naissance {whose} absente de la liste INSEE 2026 (commune disparue ?) : "
        "à vérifier."
    ]


@dataclass(frozen=True)
class Birthplace:
    code: str
    label: str  # commune or country name, "" when unknown
    abroad: bool
    warnings: tuple[str, ...] = field(default=())


def check_birthplace_code(value: str) -> Birthplace:
    """The INS birthplace trait: an INSEE commune code, or 99 + an INSEE country code."""
    code = (value or "").strip().upper()
    if len(code) != 5 or not (code.isdigit() or (code[:2] in ("2A", "2B") and code[2:].isdigit())):
        raise ValidationError(
            "Le lieu de naissance est un code INSEE de 5 caractères : code commune "
            "(2A ou 2B pour la Corse) ou 99 suivi du code pays.",
            code="birthplace_format",
        )
    if code.startswith(ABROAD):
        if code == "99100":
            raise ValidationError(
                "Le code 99100 désigne la France : saisissez le code INSEE de la commune.",
                code="birthplace_france",
            )
        country = refdata.countries().get(code)
        if country is None:
            raise ValidationError(
                "Le code pays du lieu de naissance est inconnu de la liste INSEE des pays.",
                code="birthplace_country",
            )
        return Birthplace(code, country.name, True)
    department = code[:3] if code[:2] in ("97", "98") else code[:2]
    if department not in refdata.departments() and department != CORSICA_BEFORE_1976:
        raise ValidationError(
            "Le département du lieu de naissance n'existe pas dans le code officiel géographique.",
            code="birthplace_department",
        )
    commune = refdata.communes().get(code)
    if commune is not None:
        return Birthplace(code, commune.name, False)
    former = refdata.former_communes().get(code)
    if former is not None:
        return Birthplace(code, former[0], False)
    return Birthplace(code, "", False, tuple(_french_code_warnings(code, "saisie")))


@dataclass(frozen=True)
class InsCheck:
    nir: NirInfo
    oid: str
    warnings: tuple[str, ...]


def check_ins(
    value: str,
    *,
    sex: str,
    birth_date: date,
    birthplace_code: str,
    oid: str = INS_OID_NIR,
) -> InsCheck:
    """Check an INS number (NIR or NIA) and its consistency with the INS traits.

    Raises one ValidationError carrying every inconsistency found.
    """
    if oid not in INS_OIDS:
        raise ValidationError("OID de l'INS inconnu.", code="ins_oid")
    label = "NIA" if oid == INS_OID_NIA else "NIR"
    info = parse_nir(value, label=label)
    errors: list[ValidationError] = []
    warnings = list(info.warnings)
    if sex not in SEX_DIGIT:
        errors.append(ValidationError("Le sexe doit être M ou F.", code="sex"))
    elif SEX_DIGIT[sex] != info.sex_digit:
        errors.append(
            ValidationError(
                f"Le premier chiffre du {label} ne correspond pas au sexe saisi.", code="nir_sex"
            )
        )
    if birth_date.year % 100 != info.year:
        errors.append(
            ValidationError(
                f"L'année de naissance du {label} ne correspond pas à la date de naissance.",
                code="nir_year",
            )
        )
    if info.month_known and info.month != birth_date.month:
        errors.append(
            ValidationError(
                f"Le mois de naissance du {label} ne correspond pas à la date de naissance.",
                code="nir_month_mismatch",
            )
        )
    place_errors, place_warnings = _compare_birthplaces(info, birthplace_code, label)
    errors += place_errors
    warnings += place_warnings
    if errors:
        raise ValidationError(errors)
    return InsCheck(info, oid, tuple(warnings))


def _compare_birthplaces(info: NirInfo, trait: str, label: str):
    """(errors, warnings) from comparing the NIR's birthplace with the birthplace trait."""
    trait = (trait or "").strip().upper()
    nir_place = info.birthplace
    if nir_place == trait:
        return [], []
    trait_abroad = trait.startswith(ABROAD)
    if info.born_abroad and not trait_abroad:
        message = f"Le {label} indique une naissance à l'étranger, le lieu saisi est en France."
        return [ValidationError(message, code="nir_birthplace_abroad")], []
    if not info.born_abroad and trait_abroad:
        if nir_place[:2] in ALGERIA_NIR_DEPARTMENTS and trait == ALGERIA_COUNTRY:
            return [], [f"{label} d'une personne née en Algérie avant 1962 ? À vérifier."]
        message = f"Le {label} indique une naissance en France, le lieu saisi est à l'étranger."
        return [ValidationError(message, code="nir_birthplace_france")], []
    if info.born_abroad:
        known = [refdata.countries().get(code) for code in (nir_place, trait)]
        if any(country is None or country.status == "obsolete" for country in known):
            return [], [f"Pays de naissance du {label} différent (ancien code ?) : à vérifier."]
        message = f"Le pays de naissance du {label} ne correspond pas au lieu de naissance saisi."
        return [ValidationError(message, code="nir_birthplace_country")], []
    if _department(nir_place) != _department(trait):
        message = (
            f"Le département de naissance du {label} ne correspond pas au lieu de naissance saisi."
        )
        return [ValidationError(message, code="nir_birthplace_department")], []
    if nir_place[2:] == trait[2:] and {nir_place[:2], trait[:2]} <= {"20", "2A", "2B"}:
        return [], []
    return [], [f"Commune de naissance du {label} différente de la saisie (fusion ?) : à vérifier."]


def _department(code: str) -> str:
    if code[:2] in ("2A", "2B", CORSICA_BEFORE_1976):
        return "20"  # one Corsica, whatever the year, for the comparison only
    return code[:3] if code[:2] in ("97", "98") else code[:2]
