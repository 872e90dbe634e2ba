"""Blind-index inputs of a patient envelope, and their keyed values computed in bulk.

Normalisation (the vault leaves it to us, vault/indexes.py): names by their
letters-only search key (accents, case, hyphens and apostrophes ignored, so
"Kèrgoat" and "KERGOAT" index alike), dates ISO, phones E.164, e-mails lower
case, NIR compact, a postal address as its street's letters and digits with the
usual abbreviations spelt out, and the postcode (`address_key`). One
`vault.blind_indexes` call per index name and batch.
"""

import re
from functools import lru_cache

from etanche.patients import names, nir, phonetic
from etanche.vault import services as vault
from etanche.vault.indexes import compose

# Names repeat a lot (a few thousand surnames cover most people): cache their keys.
name_search_key = lru_cache(maxsize=100_000)(names.name_search_key)
phonetic_key = lru_cache(maxsize=100_000)(phonetic.phonetic_key)

COLUMNS = ("nir", "ins", "birth_name_dob", "used_name_dob", "phonetic_dob", "email", "address")

# The abbreviations of street types and words people type (La Poste's usual ones), spelt
# out so "12 bd St-Michel" and "12, boulevard Saint Michel" index alike.
_STREET_WORDS = {
    "ALL": "ALLEE", "AV": "AVENUE", "AVE": "AVENUE", "BD": "BOULEVARD", "BLD": "BOULEVARD",
    "BVD": "BOULEVARD", "CH": "CHEMIN", "CHE": "CHEMIN", "CRS": "COURS", "FBG": "FAUBOURG",
    "IMP": "IMPASSE", "PL": "PLACE", "PLE": "PLACE", "QU": "QUAI", "R": "RUE", "RTE": "ROUTE",
    "SQ": "SQUARE", "ST": "SAINT", "STE": "SAINTE", "LOT": "LOTISSEMENT", "RES": "RESIDENCE",
}
_WORDS = re.compile(r"[A-Z]+|[0-9]+")


def address_key(street: str, postal_code: str) -> str | None:
    """The normalised input of the address index: street words + postcode (None: no index).

    Accents, case, punctuation and spacing aside; "12B" = "12 B". The city is left out
    (the postcode places it, and it is typed in many ways)."""
    code = "".join((postal_code or "").split())
    words = _WORDS.findall(names.strip_accents(street or "").upper())
    if not words or not code:
        return None
    return compose(" ".join(_STREET_WORDS.get(w, w) for w in words), code)


def name_dob(name: str, birth_date: str) -> str | None:
    key = name_search_key(name or "")
    return compose(key, birth_date) if key and birth_date else None


def phonetic_dob(name: str, first_name: str, birth_date: str) -> str | None:
    surname, first = phonetic_key(name or ""), phonetic_key(first_name or "")
    return compose(surname, first, birth_date) if surname and first and birth_date else None


def column_inputs(env: dict) -> dict[str, str | None]:
    """The normalised input of each column index (None: the column stays NULL)."""
    first = (env.get("first_names") or [""])[0]
    return {
        "nir": env.get("ins") or None,
        "ins": compose(env["ins"], env["ins_oid"]) if env.get("ins") else None,
        "birth_name_dob": name_dob(env.get("birth_name"), env.get("birth_date")),
        "used_name_dob": name_dob(env.get("used_name"), env.get("birth_date")),
        "phonetic_dob": phonetic_dob(env.get("birth_name"), first, env.get("birth_date")),
        "email": (env.get("email") or "").strip().lower() or None,
        "address": address_key(env.get("street"), env.get("postal_code")),
    }


def side_inputs(env: dict) -> list[tuple[str, str]]:
    """(index name, normalised input) of the multi-valued indexes: surnames and phones."""
    values = []
    for name in (env.get("birth_name"), env.get("used_name")):
        key = name_search_key(name or "")
        if key and ("surname", key) not in values:
            values.append(("surname", key))
    for phone in env.get("phones") or []:
        if ("phone", phone) not in values:
            values.append(("phone", phone))
    return values


def compute(lab, envelopes: list[dict], inputs: list[dict] | None = None
            ) -> tuple[list[dict], list[list[tuple[str, int]]]]:
    """For each envelope: {column: int | None} and [(side index name, int)], in bulk.
    `inputs`: the envelopes' column_inputs, when the caller already needed them."""
    inputs = inputs or [column_inputs(env) for env in envelopes]
    sides = [side_inputs(env) for env in envelopes]
    columns = [dict.fromkeys(COLUMNS) for _ in envelopes]
    for name in COLUMNS:
        where = [i for i, row in enumerate(inputs) if row[name]]
        if where:
            keyed = vault.blind_indexes(lab, name, [inputs[i][name] for i in where])
            for i, value in zip(where, keyed, strict=True):
                columns[i][name] = value
    keyed_sides: list[list[tuple[str, int]]] = [[] for _ in envelopes]
    for name in ("surname", "phone"):
        where = [(i, value) for i, side in enumerate(sides) for n, value in side if n == name]
        if where:
            keyed = vault.blind_indexes(lab, name, [value for _, value in where])
            for (i, _), value in zip(where, keyed, strict=True):
                if (name, value) not in keyed_sides[i]:
                    keyed_sides[i].append((name, value))
    return columns, keyed_sides


def ins_under_any_oid(lab, number: str) -> list[int]:
    """The `ins` index values of an INS number under each OID intake admits (nir.INS_OIDS):
    a record holding this number holds one of them, whatever its OID."""
    return vault.blind_indexes(lab, "ins", [compose(number, oid) for oid in sorted(nir.INS_OIDS)])


def lookup(lab, name: str, value: str) -> int:
    return vault.blind_index(lab, name, value)
