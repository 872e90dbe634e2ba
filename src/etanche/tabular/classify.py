"""Which kind of personal data each column of a table holds, read from its values, not its name.

Shared by the breach scan (etanche.breach), the import auto-mapping (etanche.imports) and the
self-audit scanner (ops/audit). A leak's columns are renamed, reordered, dropped or merged, so
a header is only a tie-breaker between two categories that the content supports equally
("NOM" vs "PRENOM" when most names are both); a column called "commentaire" full of NIRs is a
NIR column.

API
---
    from etanche.tabular import classify

    classifier = classify.Classifier(header)       # header: list[str], or None (no header row)
    for row in rows:                                # rows: sequences of str (or None)
        if not classifier.add(row):                 # False: no more rows wanted
            break
    columns = classifier.columns()                  # list[Column], one per column index

    # or in one call, reading at most `sample` rows of an iterable:
    columns = classify.classify(header, rows, sample=classify.SAMPLE_ROWS)

    column.index      0-based position
    column.header     the header as read ("" when none)
    column.category   one of CATEGORIES, or None (nothing recognised well enough)
    column.share      share of the column's non-empty sampled values that are of `category`
    column.scores     {category: share} for every category seen in the column
    column.filled     share of sampled rows where the column is not empty
    column.normalise(value) -> str | None
                      the value in blind-index form (recognise.py), or None; for a
                      "full_name" column: "SURNAMEKEY|FIRSTNAMEKEY" (split_full_name gives
                      the two parts as written)

    classify.normaliser(category)      the recogniser of one category (recognise.as_*)
    classify.split_full_name(text)     (surname, first name) of "NOM Prénom" / "Prénom NOM"
    classify.ART33_LABELS[category]    the French name of the data category, for art. 33
    classify.SENSITIVE                 categories that are health data (art. 9 GDPR)
    classify.health_groups(text)       lexicon groups a free text mentions (pregnancy, hiv_sti...)

Categories: nir, ins, birth_date, date (a recent date: a request, not a birth), phone, email,
blood_group, postal_code, address, city, surname, first_name, full_name, physician,
health_text, sex. Thresholds: a column takes the category with the highest share when that
share is at least MIN_SHARE (HEALTH_MIN_SHARE for free health text: a notes column mentions
a health term in only some rows). Values longer than MAX_CELL characters are cut before
being recognised, so one huge cell cannot make classification slow.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from etanche.tabular import recognise
from etanche.tabular.recognise import health_groups, split_full_name

__all__ = ["ART33_LABELS", "CATEGORIES", "SENSITIVE", "Classifier", "Column", "classify",
           "health_groups", "normaliser", "split_full_name"]

SAMPLE_ROWS = 2000
MIN_SHARE = 0.6
HEALTH_MIN_SHARE = 0.2
MAX_CELL = 4000
RECENT_YEARS = 3  # dates mostly this recent are events (a request), not births

# Order breaks ties between equal shares: the more specific recogniser first.
RECOGNISERS = {
    "ins": recognise.as_ins,
    "nir": recognise.as_nir,
    "email": recognise.as_email,
    "phone": recognise.as_phone,
    "birth_date": recognise.as_date,
    "blood_group": recognise.as_blood_group,
    "postal_code": recognise.as_postal_code,
    "address": recognise.as_address,
    "physician": recognise.as_physician,
    "full_name": recognise.as_full_name,
    "surname": recognise.as_surname,
    "first_name": recognise.as_first_name,
    "city": recognise.as_city,
    "sex": recognise.as_sex,
    "health_text": recognise.as_health_text,
}
CATEGORIES = (*RECOGNISERS, "date")

ART33_LABELS = {
    "nir": "Numéro d'inscription au répertoire (NIR, numéro de sécurité sociale)",
    "ins": "Identifiant national de santé (INS)",
    "birth_date": "Date de naissance",
    "date": "Dates (événements de prise en charge)",
    "phone": "Numéro de téléphone",
    "email": "Adresse électronique",
    "blood_group": "Groupe sanguin (donnée de santé)",
    "postal_code": "Code postal",
    "address": "Adresse postale",
    "city": "Commune",
    "surname": "Nom de famille",
    "first_name": "Prénom",
    "full_name": "Nom et prénom",
    "physician": "Médecin traitant ou prescripteur (donnée de santé)",
    "health_text": "Texte libre mentionnant la santé (grossesse, VIH, traitements, cancers...)",
    "sex": "Sexe",
}
SENSITIVE = frozenset({"blood_group", "physician", "health_text"})

# Header words, only to break a near tie that the content cannot (see module docstring).
_HEADER_HINTS = {
    "first_name": ("prenom", "first", "given", "firstname"),
    "surname": ("nom", "name", "family", "lastname", "surname", "patronyme"),
    "birth_date": ("naiss", "birth", "dob", "ddn", "born"),
    "date": ("prelev", "demande", "created", "visite", "rdv"),
}
_NEAR_TIE = 0.1


def normaliser(category: str):
    """The recogniser of a category: text -> blind-index form or None."""
    if category == "date":
        return recognise.as_date
    return RECOGNISERS[category]


@dataclass
class Column:
    index: int
    header: str = ""
    category: str | None = None
    share: float = 0.0
    filled: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)

    def normalise(self, value) -> str | None:
        if not self.category or value is None:
            return None
        text = str(value)[:MAX_CELL].strip()
        return normaliser(self.category)(text) if text else None

    def as_dict(self) -> dict:
        return {"index": self.index, "header": self.header, "category": self.category,
                "share": round(self.share, 3)}


def _header_says(header: str, category: str) -> bool:
    words = recognise.fold(header or "").replace("_", " ").replace("-", " ")
    hints = _HEADER_HINTS.get(category, ())
    if category == "surname" and any(h in words for h in _HEADER_HINTS["first_name"]):
        return False  # "prenom" contains "nom"
    return any(h in words for h in hints)


class Classifier:
    """Reads a sample of rows, then says what each column holds (see the module docstring)."""

    def __init__(self, header: Sequence[str] | None = None, sample: int = SAMPLE_ROWS,
                 today: date | None = None):
        self.header = [str(h or "") for h in (header or [])]
        self.sample = sample
        self.today = today or date.today()
        self.rows = 0
        self._filled: Counter = Counter()
        self._hits: dict[int, Counter] = {}
        self._years: dict[int, list[int]] = {}

    def add(self, row: Sequence) -> bool:
        """Count one row (unless the sample is already full); whether more rows are wanted."""
        if self.rows >= self.sample:
            return False
        self.rows += 1
        for index, value in enumerate(row):
            text = "" if value is None else str(value)[:MAX_CELL].strip()
            if not text:
                continue
            self._filled[index] += 1
            hits = self._hits.setdefault(index, Counter())
            number = False
            for category, recogniser in RECOGNISERS.items():
                if number and category == "phone":
                    # A valid NIR (key checked) is not also a phone. Its 15 digits would cost
                    # the phone check a parse per French region, nine, for nothing: most of
                    # the sample's classification time.
                    continue
                found = recogniser(text)
                if found:
                    number = number or category in ("ins", "nir")
                    hits[category] += 1
                    if category == "birth_date":
                        self._years.setdefault(index, []).append(int(found[:4]))
        return self.rows < self.sample

    def columns(self) -> list[Column]:
        width = max([len(self.header), *(i + 1 for i in self._filled)], default=0)
        return [self._column(i) for i in range(width)]

    def _column(self, index: int) -> Column:
        header = self.header[index] if index < len(self.header) else ""
        filled = self._filled[index]
        column = Column(index, header, filled=filled / self.rows if self.rows else 0.0)
        if not filled:
            return column
        scores = {c: n / filled for c, n in self._hits.get(index, Counter()).items()}
        column.scores = {c: round(s, 3) for c, s in scores.items()}
        ranked = sorted(scores, key=lambda c: (-scores[c], list(RECOGNISERS).index(c)))
        eligible = [c for c in ranked
                    if scores[c] >= (HEALTH_MIN_SHARE if c == "health_text" else MIN_SHARE)]
        if not eligible:
            return column
        best = eligible[0]
        for other in eligible[1:]:  # a near tie: the header decides, if it says anything
            if scores[best] - scores[other] > _NEAR_TIE:
                break
            if _header_says(header, other) and not _header_says(header, best):
                best = other
                break
        if best == "health_text" and any(scores.get(c, 0) >= MIN_SHARE for c in ranked
                                         if c != "health_text"):
            best = next(c for c in ranked if c != "health_text" and scores[c] >= MIN_SHARE)
        column.category, column.share = best, scores[best]
        if best == "birth_date" and self._recent(index):
            column.category = "date"
        return column

    def _recent(self, index: int) -> bool:
        years = self._years.get(index, [])
        recent = sum(1 for y in years if self.today.year - y < RECENT_YEARS)
        return bool(years) and recent >= 0.8 * len(years)


def classify(header: Sequence[str] | None, rows: Iterable[Sequence], *,
             sample: int = SAMPLE_ROWS, today: date | None = None) -> list[Column]:
    """Classify the columns from the first `sample` rows of `rows` (the rest is not read)."""
    classifier = Classifier(header, sample=sample, today=today)
    for row in rows:
        if not classifier.add(row):
            break
    return classifier.columns()
