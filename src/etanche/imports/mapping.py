"""Which source column is which field: proposed from headers and content, or written in TOML.

`propose(kind, header, rows)` reads the headers (SYNONYMS, accents and case
ignored) and the content of the first rows, through the classifier the breach
scan uses too (tabular.classify: NIR by its key, dates, phones, e-mails, names
against the INSEE lists...), with the import's own recognisers for what it
leaves unsaid (sex codes, RPPS). A column whose values prove what they are
(NIRs, phones, e-mails, birth dates, blood groups) is taken as such whatever
its header says, and a header whose column does not hold what it names is not
believed (a "Téléphone" column full of NIRs is the NIR). For names, cities and
five-digit codes the header decides when it names a field.

A TOML file (`load_toml`) overrides the proposal::

    duplicates = "flag"          # or "skip": a likely duplicate imported flagged, or not
    auto = true                  # false: only the columns listed here
    [columns]
    "N° SS" = "nir"              # source column = field (fields.PATIENT_FIELDS / REQUEST_FIELDS)
    "Ignorée" = ""               # an empty field: the column is not imported
    [formats]
    birth_date = "%d/%m/%Y"      # strptime, or JJ/MM/AAAA
    [sex]
    "1" = "M"
    "2" = "F"
    [constants]
    site = "Site principal"      # the same value for every row
    [derived]
    birthplace_code = "nir"      # "" to refuse: a field without column, read from the NIR

A file with a NIR column but no birthplace or sex column (many previous programs kept
neither) has both read from each row's NIR, which encodes them from the birth record: the
place of birth as its INSEE code at birth (department + commune, or 99 + country) in the
6th to 10th characters, the sex in the first. The proposal says so ("déduit du NIR"); a
row whose NIR does not parse gets neither, and is refused for its NIR.

`Mapping.apply(values)` turns one row into (input for intake or orders, source id,
[(field, French reason)]).
"""

import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError

from etanche.imports import fields as F
from etanche.patients import nir as nirs
from etanche.patients import validators
from etanche.tabular import classify

CONTENT_FIELDS = {"nir": "nir", "phone": "phone", "email": "email", "sex": "sex",
                  "date": "birth_date", "rpps": "physician_rpps"}
STRONG = 0.8
WEAK = 0.5


class MappingError(ValueError):
    """A mapping file that cannot be used; French, one line, no cell content."""


@dataclass
class Mapping:
    kind: str  # "patients" or "requests"
    columns: dict[str, str] = field(default_factory=dict)  # source column -> field
    why: dict[str, str] = field(default_factory=dict)  # source column -> "en-tête" | "contenu"
    formats: dict[str, str] = field(default_factory=dict)
    sex_codes: dict[str, str] = field(default_factory=lambda: dict(F.SEX_CODES))
    constants: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)  # field -> the field it is read from
    duplicates: str = "flag"

    def column_of(self, name: str) -> str | None:
        return next((c for c, f in self.columns.items() if f == name), None)

    def describe(self) -> list[str]:
        lines = [f"  {column!r} -> {name} ({F.LABELS.get(name, name)}, "
                 f"{self.why.get(column, 'fichier')})" for column, name in self.columns.items()]
        lines += [f"  constante -> {name}" for name in self.constants]
        lines += [f"  déduit du NIR -> {name} ({F.LABELS.get(name, name)})"
                  for name in self.derived]
        return lines

    def as_dict(self) -> dict:
        return {"columns": dict(self.columns), "formats": dict(self.formats),
                "constants": sorted(self.constants), "derived": dict(self.derived),
                "duplicates": self.duplicates}

    def apply(self, values: dict[str, str]) -> tuple[dict, str, list[tuple[str, str]]]:
        data: dict = {}
        source_id = ""
        problems: list[tuple[str, str]] = []
        cells = [(name, values.get(column, "")) for column, name in self.columns.items()]
        cells += list(self.constants.items())
        for name, raw in cells:
            value = (raw or "").strip()
            if not value or F.is_placeholder(name, value):
                continue
            try:
                self._put(data, name, value)
            except F.ConversionError as exc:
                problems.append((name, str(exc)))
        if "nir_key" in data:
            problems += _join_nir_key(data)
        if self.derived and data.get("nir"):
            problems += derive_from_nir(data, self.derived)
        source_id = data.pop("source_id", "")
        return data, source_id, problems

    def _put(self, data: dict, name: str, value: str) -> None:
        if name in F.DATE_FIELDS:
            what = "date de naissance" if name == "birth_date" else "date de la demande"
            if name == "birth_date" and name not in self.formats and _TWO_DIGIT_YEAR.fullmatch(
                    value):
                raise F.ConversionError(TWO_DIGIT_BIRTH_YEAR)
            data[name] = F.to_date(value, self.formats.get(name), what)
        elif name == "sex":
            data["sex"] = F.to_sex(value, self.sex_codes)
        elif name == "first_names":
            data["first_names"] = F.split_first_names(value)
        elif name in ("nir", "insured_nir"):
            data[name] = F.to_number_text(value, "NIR")
        elif name == "phone2":
            data.setdefault("phones", []).append(value)
        elif name in ("postal_code", "birthplace_code") and value.isdigit() and len(value) == 4:
            data[name] = value.zfill(5)  # a spreadsheet's number lost its leading zero
        elif name == "tests":
            data["tests"] = [c for c in value.replace(",", " ").replace(";", " ").replace(
                "+", " ").split() if c]
        else:
            data[name] = value


# A birth year on two digits names its century for nobody: read as strptime's %y does, a
# patient born in 1915 would be registered as born in 2015, and the NIR (its year on two
# digits too) would agree. Refused unless the mapping file gives the format itself.
_TWO_DIGIT_YEAR = re.compile(r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2}")
TWO_DIGIT_BIRTH_YEAR = ("L'année de naissance est écrite sur deux chiffres : le siècle est "
                        "ambigu (1915 ou 2015 ?). Exportez les dates avec l'année sur quatre "
                        "chiffres, ou donnez leur format dans le fichier de correspondance.")


def _join_nir_key(data: dict) -> list[tuple[str, str]]:
    """A NIR kept as its 13 characters beside a key column: one number again, for intake's
    checks (a key a spreadsheet wrote as "7" is "07"). A 15-character NIR must end with it."""
    key = data.pop("nir_key")
    number = nirs.compact(data.get("nir") or "")
    if not number:
        return []
    if not key.isdigit() or len(key) > 2:
        return [("nir_key", "La clé du NIR est un nombre de deux chiffres.")]
    key = key.zfill(2)
    if len(number) == 13:
        data["nir"] = number + key
    elif len(number) == 15 and number[13:] != key:
        return [("nir_key", "La clé de sa colonne n'est pas celle qui termine le NIR.")]
    return []


DERIVABLE = ("birthplace_code", "sex")  # from the NIR


NOT_DERIVED = "Non déduit du NIR, qui est refusé sur cette ligne : corrigez d'abord le NIR."


def derive_from_nir(data: dict, derived) -> list[tuple[str, str]]:
    """Fill the `derived` fields (birthplace_code, sex) the row lacks from its NIR (a FHIR
    Patient without a birthplace extension too); when the NIR does not parse, say why
    they are missing (intake refuses the NIR itself, with its reason), rather than let
    them read as "required" when the file never had their column."""
    try:
        parts = nirs.parse_nir(data["nir"])
    except ValidationError:
        return [(name, NOT_DERIVED) for name in derived if not data.get(name)]
    if "birthplace_code" in derived and not data.get("birthplace_code"):
        data["birthplace_code"] = parts.birthplace
    if "sex" in derived and not data.get("sex"):
        data["sex"] = "M" if parts.sex_digit == "1" else "F"
    return []


# -- proposal -------------------------------------------------------------------------------

def _is_nir(value: str) -> bool:
    try:
        nirs.parse_nir(value)
    except (ValidationError, ValueError):
        return False
    return True


# phonenumbers drops stray letters ("D201900000" parses as 2 01 90 00 00): a column of
# request numbers would read as phones. A phone is written with digits and separators only.
_PHONE_CHARACTERS = frozenset("0123456789 +().-/\u00a0")


def _is_phone(value: str) -> bool:
    digits = sum(ch.isdigit() for ch in value)
    if not 9 <= digits <= 15 or not set(value) <= _PHONE_CHARACTERS or _is_nir(value):
        return False
    try:
        validators.normalize_phone(value)
    except ValidationError:
        return False
    return True


def _is_email(value: str) -> bool:
    if "@" not in value:
        return False
    try:
        validators.normalize_email(value)
    except ValidationError:
        return False
    return True


RECOGNISERS = {
    "nir": _is_nir,
    "phone": _is_phone,
    "email": _is_email,
    "sex": lambda v: F.fold(v) in F.SEX_CODES,
    "date": F.looks_date,
    "rpps": lambda v: v.strip().isdigit() and len(v.strip()) == 11,
}


def content_scores(values: list[str]) -> dict[str, float]:
    """The share of non-empty values each recogniser accepts."""
    filled = [v for v in values if v and v.strip()]
    if not filled:
        return {}
    return {kind: sum(1 for v in filled if test(v)) / len(filled)
            for kind, test in RECOGNISERS.items()}


def header_field(header: str, candidates: tuple[str, ...]) -> str | None:
    """The field a header names: an exact synonym first, then a synonym as whole words."""
    synonyms = F.REQUEST_SYNONYMS if "patient_source_id" in candidates else F.SYNONYMS
    folded = F.fold(header)
    if not folded:
        return None
    for name in candidates:
        if folded in synonyms.get(name, ()):
            return name
    padded = f" {folded} "
    best, best_len = None, 0
    for name in candidates:
        for synonym in synonyms.get(name, ()):
            if len(synonym) > best_len and f" {synonym} " in padded:
                best, best_len = name, len(synonym)
    return best


def _kind_of(name: str) -> str | None:
    return next((k for k, f in CONTENT_FIELDS.items() if f == name or
                 (k == "phone" and name == "phone2") or (k == "date" and name == "date") or
                 (k == "rpps" and name == "prescriber_rpps")), None)


# What the shared classifier (tabular.classify, also the breach scan's) says a column holds,
# as the field it fills. Content beats a header for the kinds whose values prove themselves
# (a NIR by its key, a phone, an e-mail, a birth date, a blood group); for names, cities and
# codes of five digits (a postcode or a birthplace?) the header decides when it says something.
CATEGORY_FIELDS = {
    "patients": {"nir": "nir", "ins": "nir", "birth_date": "birth_date", "phone": "phone",
                 "email": "email", "blood_group": "blood_group", "postal_code": "postal_code",
                 "address": "street", "city": "city", "surname": "birth_name",
                 "first_name": "first_names", "physician": "physician_name", "sex": "sex"},
    "requests": {"nir": "nir", "ins": "nir", "birth_date": "birth_date", "date": "date",
                 "surname": "birth_name", "first_name": "first_names",
                 "physician": "prescriber_name"},
}
PROVEN = {"nir", "phone", "email", "birth_date", "date", "blood_group"}
ALIKE = {("phone", "phone2"), ("birth_name", "used_name"), ("first_names", "used_first_name"),
         ("nir", "source_id"), ("birth_date", "date"), ("date", "birth_date")}


def _classified(kind: str, header: list[str], rows: list[dict[str, str]]) -> dict[str, str]:
    columns = classify.classify(header, [[r.get(c, "") for c in header] for r in rows])
    fields_of = CATEGORY_FIELDS[kind]
    return {header[c.index]: fields_of[c.category] for c in columns
            if c.index < len(header) and c.category in fields_of}


def _fallback(kind: str, scores: dict[str, float]) -> str | None:
    """The import's own recognisers, for what the classifier left unsaid."""
    if not scores:
        return None
    found, share = max(scores.items(), key=lambda kv: kv[1])
    if share < STRONG:
        return None
    name = CONTENT_FIELDS[found]
    if kind == "requests":
        name = {"date": "date", "rpps": "prescriber_rpps"}.get(found, name)
    return name


def _agree(by_header: str, by_content: str) -> bool:
    return by_header == by_content or (by_header, by_content) in ALIKE


def propose(kind: str, header: list[str], rows: list[dict[str, str]]) -> Mapping:
    candidates = F.PATIENT_FIELDS if kind == "patients" else F.REQUEST_FIELDS
    scores = {col: content_scores([r.get(col, "") for r in rows]) for col in header}
    content = _classified(kind, header, rows)
    for col in header:
        if col not in content and (name := _fallback(kind, scores[col])):
            content[col] = name
    mapping = Mapping(kind)
    taken: Counter = Counter()

    def take(col: str, name: str, why: str) -> bool:
        if name not in candidates:
            return False
        if taken[name]:
            if name == "phone" and "phone2" in candidates and not taken["phone2"]:
                name = "phone2"
            else:
                return False
        mapping.columns[col], mapping.why[col] = name, why
        taken[name] += 1
        return True

    # 1. Headers the content does not contradict; proven content over any header.
    for col in header:
        by_header = header_field(col, candidates)
        by_content = content.get(col)
        if by_header is None:
            continue
        if by_content and not _agree(by_header, by_content) and by_content in PROVEN:
            continue  # a misleading header: the content decides below
        take(col, by_header, "en-tête")
    # 2. Content, for the columns still free and the fields still missing.
    for col in header:
        if col not in mapping.columns and content.get(col):
            take(col, content[col], "contenu")
    # 3. What the NIR tells, for the fields no column gives.
    if kind == "patients" and taken["nir"]:
        mapping.derived = {name: "nir" for name in DERIVABLE if not taken[name]}
    return mapping


# -- TOML -----------------------------------------------------------------------------------

def _format(text: str) -> str:
    return (text.replace("JJ", "%d").replace("MM", "%m").replace("AAAA", "%Y")
            .replace("AA", "%y")) if "%" not in text else text


def load_toml(path: str | Path, kind: str, proposal: Mapping | None) -> Mapping:
    try:
        with open(path, "rb") as handle:
            doc = tomllib.load(handle)
    except OSError as exc:
        raise MappingError(f"Fichier de correspondance illisible : {exc.strerror}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"Fichier de correspondance mal formé (TOML) : {exc}.") from None
    candidates = F.PATIENT_FIELDS if kind == "patients" else F.REQUEST_FIELDS
    use_auto = doc.get("auto", True) and proposal is not None
    mapping = Mapping(kind, dict(proposal.columns), dict(proposal.why)) if use_auto \
        else Mapping(kind)
    for column, name in (doc.get("columns") or {}).items():
        if name and name not in candidates:
            raise MappingError(f"Champ inconnu dans [columns] : {name} (champs possibles : "
                               f"{', '.join(candidates)}).")
        for other in [c for c, f in mapping.columns.items() if f == name and name]:
            del mapping.columns[other]  # the file names this field's column
        mapping.columns.pop(column, None)
        if name:
            mapping.columns[column], mapping.why[column] = name, "fichier"
    for name, fmt in (doc.get("formats") or {}).items():
        mapping.formats[name] = _format(str(fmt))
    sex = doc.get("sex") or {}
    if sex:
        if any(v not in ("M", "F") for v in sex.values()):
            raise MappingError("[sex] associe chaque code à M ou F.")
        mapping.sex_codes = {F.fold(str(k)): v for k, v in sex.items()} | {
            str(k): v for k, v in sex.items()}
    for name, value in (doc.get("constants") or {}).items():
        if name not in candidates:
            raise MappingError(f"Champ inconnu dans [constants] : {name}.")
        mapping.constants[name] = str(value)
    mapping.derived = dict(proposal.derived) if use_auto else {}
    for name, source in (doc.get("derived") or {}).items():
        if name not in DERIVABLE or source not in ("nir", ""):
            raise MappingError(f"[derived] : seuls {' et '.join(DERIVABLE)} se déduisent, "
                               'du NIR ("nir"), ou pas ("").')
        mapping.derived.pop(name, None)
        if source:
            mapping.derived[name] = source
    for name in set(mapping.columns.values()) & set(mapping.derived):
        del mapping.derived[name]  # a column gives it: nothing to derive
    policy = doc.get("duplicates", "flag")
    if policy not in ("flag", "skip"):
        raise MappingError('duplicates vaut "flag" (importés, signalés) ou "skip" (ignorés).')
    mapping.duplicates = policy
    return mapping
