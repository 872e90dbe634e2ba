"""Which source column is which field: proposed from headers and content, or written in TOML.

`propose(kind, header, rows)` reads the headers (SYNONYMS, accents and case
ignored) and the content of the first rows: a column whose values are NIRs by
their key, phone numbers, e-mails, sex codes or dates is recognised as such
whatever its header says, and a header whose column does not hold what it
names is not believed (a "Téléphone" column full of NIRs is the NIR). Names,
addresses and free text are recognised by header only.

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

`Mapping.apply(values)` turns one row into (input for intake or orders, source id,
[(field, French reason)]).
"""

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError

from etanche.imports import fields as F
from etanche.patients import nir as nirs
from etanche.patients import validators

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
    duplicates: str = "flag"

    def column_of(self, name: str) -> str | None:
        return next((c for c, f in self.columns.items() if f == name), None)

    def describe(self) -> list[str]:
        lines = [f"  {column!r} -> {name} ({F.LABELS.get(name, name)}, "
                 f"{self.why.get(column, 'fichier')})" for column, name in self.columns.items()]
        lines += [f"  constante -> {name}" for name in self.constants]
        return lines

    def as_dict(self) -> dict:
        return {"columns": dict(self.columns), "formats": dict(self.formats),
                "constants": sorted(self.constants), "duplicates": self.duplicates}

    def apply(self, values: dict[str, str]) -> tuple[dict, str, list[tuple[str, str]]]:
        data: dict = {}
        source_id = ""
        problems: list[tuple[str, str]] = []
        cells = [(name, values.get(column, "")) for column, name in self.columns.items()]
        cells += list(self.constants.items())
        for name, raw in cells:
            value = (raw or "").strip()
            if not value:
                continue
            try:
                self._put(data, name, value)
            except F.ConversionError as exc:
                problems.append((name, str(exc)))
        source_id = data.pop("source_id", "")
        return data, source_id, problems

    def _put(self, data: dict, name: str, value: str) -> None:
        if name in F.DATE_FIELDS:
            what = "date de naissance" if name == "birth_date" else "date de la demande"
            data[name] = F.to_date(value, self.formats.get(name), what)
        elif name == "sex":
            data["sex"] = F.to_sex(value, self.sex_codes)
        elif name == "first_names":
            data["first_names"] = F.split_first_names(value)
        elif name == "phone2":
            data.setdefault("phones", []).append(value)
        elif name in ("postal_code", "birthplace_code") and value.isdigit() and len(value) == 4:
            data[name] = value.zfill(5)  # a spreadsheet's number lost its leading zero
        elif name == "tests":
            data["tests"] = [c for c in value.replace(",", " ").replace(";", " ").replace(
                "+", " ").split() if c]
        else:
            data[name] = value


# -- proposal -------------------------------------------------------------------------------

def _is_nir(value: str) -> bool:
    try:
        nirs.parse_nir(value)
    except (ValidationError, ValueError):
        return False
    return True


def _is_phone(value: str) -> bool:
    digits = sum(ch.isdigit() for ch in value)
    if not 9 <= digits <= 15 or _is_nir(value):
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
    folded = F.fold(header)
    if not folded:
        return None
    for name in candidates:
        if folded in F.SYNONYMS.get(name, ()):
            return name
    padded = f" {folded} "
    best, best_len = None, 0
    for name in candidates:
        for synonym in F.SYNONYMS.get(name, ()):
            if len(synonym) > best_len and f" {synonym} " in padded:
                best, best_len = name, len(synonym)
    return best


def _kind_of(name: str) -> str | None:
    return next((k for k, f in CONTENT_FIELDS.items() if f == name or
                 (k == "phone" and name == "phone2") or (k == "date" and name == "date") or
                 (k == "rpps" and name == "prescriber_rpps")), None)


def propose(kind: str, header: list[str], rows: list[dict[str, str]]) -> Mapping:
    candidates = F.PATIENT_FIELDS if kind == "patients" else F.REQUEST_FIELDS
    scores = {col: content_scores([r.get(col, "") for r in rows]) for col in header}
    mapping = Mapping(kind)
    taken: Counter = Counter()
    # 1. Headers, unless the column's content contradicts them.
    for col in header:
        name = header_field(col, candidates)
        if name is None:
            continue
        kind_needed = _kind_of(name)
        if kind_needed and scores[col] and scores[col].get(kind_needed, 0) < WEAK:
            continue  # a misleading header: content decides below
        if taken[name]:
            if name == "phone" and "phone2" in candidates and not taken["phone2"]:
                name = "phone2"
            else:
                continue
        mapping.columns[col], mapping.why[col] = name, "en-tête"
        taken[name] += 1
    # 2. Content, for the columns still free and the fields still missing.
    for col in header:
        if col in mapping.columns or not scores[col]:
            continue
        kind_found, score = max(scores[col].items(), key=lambda kv: kv[1])
        if score < STRONG:
            continue
        name = CONTENT_FIELDS[kind_found]
        if kind == "requests":
            name = {"date": "date", "rpps": "prescriber_rpps"}.get(kind_found, name)
        if name not in candidates:
            continue
        if taken[name]:
            if name == "phone" and not taken["phone2"]:
                name = "phone2"
            else:
                continue
        mapping.columns[col], mapping.why[col] = name, "contenu"
        taken[name] += 1
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
    policy = doc.get("duplicates", "flag")
    if policy not in ("flag", "skip"):
        raise MappingError('duplicates vaut "flag" (importés, signalés) ou "skip" (ignorés).')
    mapping.duplicates = policy
    return mapping
