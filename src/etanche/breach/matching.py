"""Leaked rows matched to the lab's patients through the blind indexes only.

For a batch of rows: each row's identifying values are normalised as the patients app
indexes them (patients/indexing.py), keyed in bulk (one `vault.blind_indexes` call per index
and batch), then looked up in two rounds (`match_batch`): by the identity numbers (NIR, INS)
first, then, for the rows still unmatched, by the names and date of birth. Each query is one
`Patient.*_index = ANY(...)` per index, and reads the candidates' other index columns, so the
indexes a record shares with the row are known before anything is unsealed; the phone and
e-mail indexes are never looked up (see `_candidates`). An index is truncated by design (2 to
4 unrelated records share a value), so the candidates are then confirmed by unsealing only
them, and only the ones that agree on the most indexes: a row that shares its NIR index and
its name+date index with one record does not open the three records that share only its
phonetic index by chance, and a record whose NIR index differs from the row's is not opened.

Confirmation compares the row with the record exactly and scores the evidence:
NIR or INS 4, birth/used name + date of birth 3, phonetic name + first name + date 2,
first name +1, e-mail 1.5, phone 1; a contradiction (another NIR, another date of birth, a
surname that is neither the birth nor the used name, nor sounds like it) takes 4 (NIR),
3 (date) or 2 (name) off.
A row is matched to the best record when the score reaches MATCH_SCORE and no other record
scores the same; the phone or the e-mail alone never suffices (families share them, and a
foreign person may reuse an address). Confidence = min(1, score / 6).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from django.db.models import F

from etanche.lib.lookups import AnyOf
from etanche.patients.indexing import name_search_key  # cached: names repeat
from etanche.patients.models import Patient
from etanche.patients.phonetic import phonex as _phonex
from etanche.patients.search import open_values
from etanche.tabular import classify
from etanche.vault import services as vault
from etanche.vault.indexes import compose

phonex = lru_cache(maxsize=100_000)(_phonex)

MATCH_SCORE = 3.0
WEIGHTS = {"nir": 4.0, "ins": 4.0, "name_dob": 3.0, "phonetic_dob": 2.0, "first_name": 1.0,
           "email": 1.5, "phone": 1.0}
CONTRADICTION = {"nir": 4.0, "birth_date": 3.0, "surname": 2.0}
UNSEAL_PER_ROW = 8
# The best a record can score when its NIR contradicts the row's (name + date, first name,
# e-mail, phone, minus the contradiction): below MATCH_SCORE, so _candidates drops it unopened.
NIR_CONTRADICTED_MAX = (WEIGHTS["name_dob"] + WEIGHTS["first_name"] + WEIGHTS["email"]
                        + WEIGHTS["phone"] - CONTRADICTION["nir"])
CONTACT_INDEXES = frozenset({"email", "phone"})


@dataclass
class Keys:
    """The normalised identifying values of one leaked row (blind-index form)."""

    nir: str = ""
    ins: str = ""  # number|oid
    surnames: list[str] = field(default_factory=list)  # search keys
    first_name: str = ""  # search key
    birth_date: str = ""
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)

    def identifying(self) -> bool:
        return bool(self.nir or self.ins or self.emails or self.phones
                    or (self.surnames and self.birth_date))


def keys_of(columns: list[classify.Column], cells: list[str], seen=None) -> Keys:
    """The row's keys; `seen` (a Counter), if given, counts each category the row holds."""
    keys = Keys()
    held = set()
    for column in columns:
        if not column.category or column.index >= len(cells):
            continue
        value = column.normalise(cells[column.index])
        if not value:
            continue
        category = column.category
        held.add(category)
        if category == "nir" and not keys.nir:
            keys.nir = value
        elif category == "ins" and not keys.ins:
            keys.ins = value
            keys.nir = keys.nir or value.split("|")[0]
        elif category == "surname" and value not in keys.surnames:
            keys.surnames.append(value)
        elif category == "full_name":
            surname, first = value.split("|")
            if surname and surname not in keys.surnames:
                keys.surnames.append(surname)
            keys.first_name = keys.first_name or first
        elif category == "first_name" and not keys.first_name:
            keys.first_name = value
        elif category == "birth_date" and not keys.birth_date:
            keys.birth_date = value
        elif category == "phone" and value not in keys.phones:
            keys.phones.append(value)
        elif category == "email" and value not in keys.emails:
            keys.emails.append(value)
    if seen is not None:
        seen.update(held)
    return keys


@dataclass
class Match:
    patient_id: int
    score: float
    evidence: list[str]

    @property
    def confidence(self) -> float:
        return round(min(1.0, self.score / 6.0), 2)


def _lookups(keys: Keys) -> list[tuple[str, str]]:
    """(index name, normalised input) of one row, as patients/indexing.py computes them."""
    wanted: list[tuple[str, str]] = []
    if keys.nir:
        wanted.append(("nir", keys.nir))
    if keys.ins:
        number, oid = keys.ins.split("|")
        wanted.append(("ins", compose(number, oid)))
    if keys.birth_date:
        for surname in keys.surnames:
            wanted.append(("birth_name_dob", compose(surname, keys.birth_date)))
            wanted.append(("used_name_dob", compose(surname, keys.birth_date)))
            if keys.first_name:
                sound = compose(phonex(surname), phonex(keys.first_name), keys.birth_date)
                wanted.append(("phonetic_dob", sound))
    wanted += [("email", email) for email in keys.emails]
    wanted += [("phone", phone) for phone in keys.phones]
    return wanted


def keyed_lookups(lab, batch: list[Keys]) -> dict[str, dict[int, list[int]]]:
    """{index name: {keyed value: [rows of the batch]}}: one vault call per index."""
    by_index: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row, keys in enumerate(batch):
        for name, value in _lookups(keys):
            by_index[name][value].append(row)
    keyed_rows: dict[str, dict[int, list[int]]] = {}
    for name, values in by_index.items():
        inputs = list(values)
        rows_of: dict[int, list[int]] = defaultdict(list)
        for value, key in zip(inputs, vault.blind_indexes(lab, name, inputs), strict=True):
            rows_of[key].extend(values[value])
        keyed_rows[name] = rows_of
    return keyed_rows


NUMBER_INDEXES = ("nir", "ins")
NAME_INDEXES = ("birth_name_dob", "used_name_dob", "phonetic_dob")
# The index columns read with each candidate and compared with the row's keyed values.
COMPARED = (*NUMBER_INDEXES, *NAME_INDEXES, "email")


def _keys_by_row(batch: list[Keys], keyed: dict) -> list[dict[str, set[int]]]:
    """For each row: {index name: its keyed values} (a row may hold several surnames)."""
    by_row: list[dict[str, set[int]]] = [defaultdict(set) for _ in batch]
    for name, rows_of in keyed.items():
        for key, rows in rows_of.items():
            for row in rows:
                by_row[row][name].add(key)
    return by_row


def _candidates(lab, keyed: dict, by_row: list, lookup: tuple[str, ...],
                rows: set[int], tried: list[set[int]]) -> dict[int, dict[int, set[str]]]:
    """For each row of `rows`: {patient id: the indexes whose value it shares with the row},
    the records being those sharing a value of a `lookup` index with the row.

    Each candidate's other index columns (COMPARED) come with it and are compared here, so
    one query per lookup index tells how many indexes a record shares with the row. A phone
    or an e-mail never makes a match on its own (score() caps contact details alone), so
    neither is looked up: their buckets can be large (a number shared by a household, a
    switchboard, or synthetic fiction numbers: a hundred records a row at 1,000,000
    patients). The e-mail is compared; the phone is not read (reading it cost PostgreSQL a
    probe per candidate: 240 ms a batch of 1,000 rows at 1,000,000 patients), and the
    unsealed comparison still weighs it.

    Equal NIRs have equal index values, so a record whose NIR index differs from the row's
    holds another NIR: score() would take CONTRADICTION["nir"] off and the rest cannot
    reach MATCH_SCORE (NIR_CONTRADICTED_MAX). Such a record is left out unopened: it is
    most of what a foreign row's namesakes born the same day would cost."""
    found: dict[int, dict[int, set[str]]] = {row: {} for row in rows}
    columns = [f"{name}_index" for name in COMPARED]
    for name in lookup:
        wanted = {key for key, in_rows in keyed.get(name, {}).items()
                  if not rows.isdisjoint(in_rows)}
        if not wanted:
            continue
        hits = Patient.objects.for_lab(lab).filter(AnyOf(F(f"{name}_index"), list(wanted))) \
            .values_list("pk", *columns)
        for pk, *values in hits:
            nir_key = values[0]
            for row in keyed[name][values[COMPARED.index(name)]]:
                if row not in found or pk in found[row] or pk in tried[row]:
                    continue
                mine = by_row[row]
                if nir_key is not None and mine.get("nir") and nir_key not in mine["nir"]:
                    continue
                found[row][pk] = {index for index, value in zip(COMPARED, values, strict=True)
                                  if value is not None and value in mine.get(index, ())}
    return found


def _chosen(candidates: dict[int, set[str]]) -> list[int]:
    """The records worth unsealing: those sharing the most identity indexes, a few at most."""
    useful = {pk: len(names) for pk, names in candidates.items()
              if not names <= CONTACT_INDEXES}
    if not useful:
        return []
    best = max(useful.values())
    return sorted(pk for pk, n in useful.items() if n == best)[:UNSEAL_PER_ROW]


def score(keys: Keys, env: dict) -> tuple[float, list[str]]:
    evidence: list[str] = []
    points = 0.0
    if keys.nir and keys.nir == env.get("ins"):
        evidence.append("ins" if keys.ins else "nir")
        points += WEIGHTS["nir"]
    record_names = {name_search_key(env.get("birth_name") or ""),
                    name_search_key(env.get("used_name") or "")} - {""}
    firsts = {name_search_key(f) for f in [*(env.get("first_names") or []),
                                            env.get("used_first_name") or ""] if f}
    same_day = keys.birth_date and keys.birth_date == env.get("birth_date")
    named = bool(set(keys.surnames) & record_names)
    sounds = not named and bool({phonex(s) for s in keys.surnames}
                                & {phonex(n) for n in record_names})
    first_same = bool(keys.first_name) and keys.first_name in firsts
    if same_day and named:
        evidence.append("name_dob")
        points += WEIGHTS["name_dob"]
    elif same_day and sounds and keys.first_name and (
            first_same or phonex(keys.first_name) in {phonex(f) for f in firsts}):
        evidence.append("phonetic_dob")
        points += WEIGHTS["phonetic_dob"]
    if first_same:
        evidence.append("first_name")
        points += WEIGHTS["first_name"]
    if set(keys.emails) & {(env.get("email") or "").strip().lower()} - {""}:
        evidence.append("email")
        points += WEIGHTS["email"]
    if set(keys.phones) & set(env.get("phones") or []):
        evidence.append("phone")
        points += WEIGHTS["phone"]
    if keys.nir and env.get("ins") and keys.nir != env["ins"]:
        points -= CONTRADICTION["nir"]  # a namesake born the same day: another person
    if keys.birth_date and env.get("birth_date") and not same_day:
        points -= CONTRADICTION["birth_date"]
    if keys.surnames and record_names and not (named or sounds):
        points -= CONTRADICTION["surname"]
    if set(evidence) <= {"email", "phone", "first_name"}:
        points = min(points, MATCH_SCORE - 0.5)  # contact details alone never suffice
    return points, evidence


def _opened(lab, ids: set[int]) -> dict[int, tuple[int, dict]]:
    """{id: (the surviving record's id, envelope)}: merged records count as their survivor."""
    if not ids:
        return {}
    rows = list(Patient.objects.for_lab(lab).filter(AnyOf(F("pk"), list(ids)))
                .values_list(*Patient.opening_columns()))
    merged_at = Patient.opening_columns().index("merged_into_id")
    survivors = {row[0]: row[merged_at] or row[0] for row in rows}
    return {pk: (survivors[pk], env) for pk, env in open_values(rows)}


def _best(keys: Keys, ids: list[int], envelopes: dict) -> Match | None:
    scored = []
    for pk in ids:
        survivor, env = envelopes[pk]
        points, evidence = score(keys, env)
        if points >= MATCH_SCORE:
            scored.append(Match(survivor, points, evidence))
    scored.sort(key=lambda m: -m.score)
    if not scored or (len(scored) > 1 and scored[1].score == scored[0].score
                      and scored[1].patient_id != scored[0].patient_id):
        return None  # nobody, or two people as likely: not for a machine to decide
    return scored[0]


def match_batch(lab, batch: list[Keys], keyed: dict | None = None) -> list[Match | None]:
    """The patient each row is, or None (not the lab's patient, or ambiguous).

    Two rounds. First the identity numbers: a row holding a NIR (or an INS) is looked up by
    it, and the candidates' name indexes come with them, so the patient whose NIR and name
    agree is found without looking the names up. Then the names: only the rows still
    unmatched (a row without NIR, a foreign person, a patient whose record has no NIR) are
    looked up by their names and date of birth, leaving out the records already opened
    for them. At 90 % of rows matched in the first round, the name buckets are read for a
    tenth of the rows."""
    keyed = keyed if keyed is not None else keyed_lookups(lab, batch)
    by_row = _keys_by_row(batch, keyed)
    results: list[Match | None] = [None] * len(batch)
    tried: list[set[int]] = [set() for _ in batch]
    envelopes: dict[int, tuple[int, dict]] = {}
    pending = set(range(len(batch)))
    for lookup in (NUMBER_INDEXES, NAME_INDEXES):
        rows = {row for row in pending if any(by_row[row].get(name) for name in lookup)}
        if not rows:
            continue
        found = _candidates(lab, keyed, by_row, lookup, rows, tried)
        chosen = {row: _chosen(candidates) for row, candidates in found.items()}
        envelopes.update(_opened(lab, {pk for ids in chosen.values() for pk in ids}
                                 - envelopes.keys()))
        for row, ids in chosen.items():
            tried[row].update(ids)
            results[row] = _best(batch[row], ids, envelopes)
            if results[row] is not None:
                pending.discard(row)
    return results
