"""Value recognisers: is this one cell a NIR, a phone, a date of birth...? Normalised or None.

Each `as_<category>(text)` returns the value in the form the patients' blind indexes are
computed from (patients/indexing.py: NIR compact, dates ISO, phones E.164, e-mails lower case,
names by their letters-only search key), or None when the text is not one. They reuse the
project's own checks (patients.nir, patients.validators, patients.bloodgroups, python-stdnum,
phonenumbers) and never raise: a leak is full of junk, and junk is simply "not this".
A cheap shape test runs before each costly check, because a scan calls these millions of times.
"""

import csv
import re
from datetime import date
from functools import cache, lru_cache
from pathlib import Path

from django.core.exceptions import ValidationError

from etanche.patients import bloodgroups, nir, refdata, validators
from etanche.patients.indexing import name_search_key  # cached: names repeat
from etanche.patients.names import strip_accents

DATA_DIR = Path(__file__).resolve().parent / "data"
OLDEST_BIRTH_YEAR = 1890  # validators.MAX_AGE_YEARS back from the 2010s, with margin

_NIR_SHAPE = re.compile(r"[12][\d .\-]{5,}[\dAB][\d .\-]{6,}\d", re.IGNORECASE)
_NIR_SEPARATORS = str.maketrans("", "", " .-\u00a0")
_INS_OID = re.compile(r"1\.2\.250\.1\.213\.1\.4\.(?:8|9|10|11)\b")
_INS_NUMBER = re.compile(r"[12378][\dAB ]{13,19}\d", re.IGNORECASE)
_PHONE_SHAPE = re.compile(r"\+?[\d ().\-/\u00a0]{9,22}")
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_POSTAL = re.compile(r"\d{5}")
_STREET = re.compile(
    r"^\s*\d{1,4}\s*(?:bis|ter|[a-d])?\s*,?\s*(?:rue|avenue|av|bd|boulevard|chemin|che|"
    r"allee|impasse|place|route|rte|quai|cours|square|sq|lotissement|lot|residence|res|"
    r"voie|passage|sentier|hameau|lieu-dit|ld|faubourg|fg|promenade|esplanade|rond-point)\b",
    re.IGNORECASE,
)
_PHYSICIAN = re.compile(r"^\s*(?:dr|docteur|pr|professeur)\b\.?\s+\S", re.IGNORECASE)
_RPPS = re.compile(r"\d{11}")
_WORDS = re.compile(r"[a-z0-9]+")

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.+\-Z]*)?")
_YEAR_FIRST = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})(?:\s+[\d:]+)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_WRITTEN = re.compile(r"(\d{1,2})(?:er)?\s+([a-z]+)\.?\s+(\d{4})")
_MONTHS = {
    "janvier": 1, "janv": 1, "jan": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4,
    "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9,
    "sept": 9, "sep": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12,
    "dec": 12,
}


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Lower case without accents, for comparing words."""
    return strip_accents(text).lower()


@lru_cache(maxsize=200_000)
def as_nir(text: str) -> str | None:
    """A valid NIR (key checked, 2A/2B, spaces, dots or hyphens allowed), compact."""
    if not text or len(text) > 40 or not _NIR_SHAPE.fullmatch(text.strip()):
        return None
    number = text.translate(_NIR_SEPARATORS).upper()
    if len(number) != 15:
        return None
    try:
        return nir.parse_nir(number).number
    except ValidationError:
        return None


def as_ins(text: str) -> str | None:
    """An INS written with its OID (HL7 `NIR^^^&1.2.250.1.213.1.4.8&ISO`, FHIR system...):
    `number|oid`. A bare NIR is a NIR (as_nir), not an INS."""
    if not text or len(text) > 200:
        return None
    oid = _INS_OID.search(text)
    if not oid:
        return None
    for found in _INS_NUMBER.finditer(text.replace(oid.group(0), " ")):
        number = as_nir(found.group(0))
        if number:
            return f"{number}|{oid.group(0)}"
    return None


def _day(year: int, month: int, day: int, today: date) -> str | None:
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    return value.isoformat() if OLDEST_BIRTH_YEAR <= year and value <= today else None


@lru_cache(maxsize=200_000)
def as_date(text: str, today: date | None = None) -> str | None:
    """A past date in a common French or ISO writing, ISO: 1985-03-07, 07/03/1985,
    7.3.1985, 07-03-85, 19850307, 1985/03/07, 7 mars 1985, 1er mars 1985, ISO date-times."""
    text = (text or "").strip()
    if not text or len(text) > 40 or not text[0].isdigit():
        return None
    today = today or date.today()
    if match := _ISO.fullmatch(text) or _YEAR_FIRST.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
        return _day(year, month, day, today)
    if match := _DAY_FIRST.fullmatch(text):
        day, month, year_text = match.groups()
        year = int(year_text)
        if len(year_text) == 2:  # a birth year written in two digits: the latest past one
            year += 2000 if year <= today.year % 100 else 1900
        return _day(year, int(month), int(day), today)
    if match := _COMPACT.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
        return _day(year, month, day, today)
    if match := _WRITTEN.fullmatch(fold(text)):
        day, month_word, year = match.groups()
        month = _MONTHS.get(month_word)
        return _day(int(year), month, int(day), today) if month else None
    return None


@lru_cache(maxsize=200_000)
def as_phone(text: str) -> str | None:
    """A French (mainland or overseas) or international phone in any writing, E.164."""
    if not text or not _PHONE_SHAPE.fullmatch(text.strip()):
        return None
    compact = text.replace("(0)", "")
    compact = ("+" if compact.lstrip().startswith("+") else "") + \
        "".join(char for char in compact if char.isdigit())
    return _phone(compact) if 9 <= len(compact.lstrip("+")) <= 15 else None


@lru_cache(maxsize=200_000)
def _phone(compact: str) -> str | None:
    """One check per number, however many writings of it a file holds."""
    try:
        return validators.normalize_phone(compact)
    except ValidationError:
        return None


@lru_cache(maxsize=200_000)
def as_email(text: str) -> str | None:
    text = (text or "").strip()
    if len(text) > 254 or not _EMAIL_SHAPE.fullmatch(text):
        return None
    try:
        return validators.normalize_email(text).lower()
    except ValidationError:
        return None


@lru_cache(maxsize=200_000)
def as_blood_group(text: str) -> str | None:
    text = (text or "").strip()
    if not text or len(text) > 16:
        return None
    text = re.sub(r"^(?:groupe|gs|grp)\s*", "", fold(text)).strip()
    try:
        return bloodgroups.normalize_blood_group(text)
    except ValidationError:
        return None


@cache
def postal_codes() -> frozenset[str]:
    return frozenset(code for c in refdata.communes().values() for code in c.postal_codes)


@cache
def commune_keys() -> frozenset[str]:
    return frozenset(name_search_key(c.name) for c in refdata.communes().values())


def as_postal_code(text: str) -> str | None:
    text = (text or "").strip()
    return text if _POSTAL.fullmatch(text) and text in postal_codes() else None


@lru_cache(maxsize=200_000)
def as_address(text: str) -> str | None:
    """A street address ("14 place de la Gare", "3 bis, rue X 75011 Paris"): folded text."""
    text = (text or "").strip()
    if not 6 <= len(text) <= 200:
        return None
    folded = fold(text)
    return " ".join(folded.split()) if _STREET.match(folded) else None


@lru_cache(maxsize=200_000)
def as_city(text: str) -> str | None:
    key = name_search_key(text or "") if text and len(text) <= 60 else ""
    return key if key and key in commune_keys() else None


@cache
def first_name_keys() -> frozenset[str]:
    return frozenset(name_search_key(n) for names, _ in refdata.first_names().values()
                     for n in names)


@cache
def surname_keys() -> frozenset[str]:
    return frozenset(name_search_key(n) for n in refdata.surnames()[0])


@lru_cache(maxsize=200_000)
def _name_key(text: str) -> str:
    if not text or len(text) > 60 or any(char.isdigit() or char == "@" for char in text):
        return ""
    return name_search_key(text)


@lru_cache(maxsize=200_000)
def as_first_name(text: str) -> str | None:
    """A first name of the INSEE list (the first one of "Marie, Anne"): its search key."""
    first = re.split(r"[,;/]|\s+", (text or "").strip(), maxsplit=1)[0]
    key = _name_key(first)
    return key if key and key in first_name_keys() else None


@lru_cache(maxsize=200_000)
def as_surname(text: str) -> str | None:
    """A surname of the INSEE list ("de la Tour" and "DELATOUR" alike): its search key."""
    key = _name_key(text)
    return key if key and key in surname_keys() else None


@lru_cache(maxsize=200_000)
def split_full_name(text: str) -> tuple[str, str] | None:
    """(surname, first name) of a "NOM Prénom" or "Prénom NOM" cell, or None.

    Upper-case words are the surname when the cell mixes cases; otherwise the first word(s)
    that the INSEE first-name list knows, at either end, are the first name."""
    words = (text or "").replace(",", " ").split()
    if not 2 <= len(words) <= 6 or any(any(c.isdigit() for c in w) for w in words):
        return None
    upper = [w for w in words if w.isupper() and len(w) > 1]
    if upper and len(upper) < len(words):
        rest = [w for w in words if w not in upper]
        if as_first_name(rest[0]):
            return " ".join(upper), " ".join(rest)
    for cut in range(1, len(words)):
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        if as_first_name(tail) and as_surname(head):
            return head, tail
        if as_first_name(head) and as_surname(tail):
            return tail, head
    if as_first_name(words[-1]):
        return " ".join(words[:-1]), words[-1]
    if as_first_name(words[0]):
        return " ".join(words[1:]), words[0]
    return None


@lru_cache(maxsize=200_000)
def as_full_name(text: str) -> str | None:
    split = split_full_name(text)
    return f"{name_search_key(split[0])}|{name_search_key(split[1])}" if split else None


def as_physician(text: str) -> str | None:
    """ "Dr Marie Soury", "Docteur X", "Pr Y", or an RPPS number (11 digits)."""
    text = (text or "").strip()
    if _PHYSICIAN.match(text) and len(text) <= 80:
        return " ".join(fold(text).split())
    digits = text.replace(" ", "")
    if _RPPS.fullmatch(digits):
        return validators.check_rpps(digits)
    return None


@cache
def health_terms() -> dict[str, str]:
    """Folded term -> group, from data/health_terms.csv (see data/SOURCES.md)."""
    with open(DATA_DIR / "health_terms.csv", encoding="utf-8", newline="") as handle:
        return {" ".join(_WORDS.findall(fold(row["term"]))): row["group"]
                for row in csv.DictReader(handle)}


@cache
def _health_pattern() -> re.Pattern:
    terms = sorted(health_terms(), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\b")


def health_groups(text: str) -> list[str]:
    """The lexicon groups (pregnancy, hiv_sti, cancer...) that a free text mentions."""
    if not text or len(text) < 3:
        return []
    folded = " ".join(_WORDS.findall(fold(text[:4000])))
    return sorted({health_terms()[m] for m in _health_pattern().findall(folded)})


@lru_cache(maxsize=200_000)
def as_health_text(text: str) -> str | None:
    groups = health_groups(text)
    return ",".join(groups) if groups else None


def as_sex(text: str) -> str | None:
    value = fold((text or "").strip())
    return {"m": "M", "h": "M", "homme": "M", "masculin": "M", "f": "F", "femme": "F",
            "feminin": "F"}.get(value)
