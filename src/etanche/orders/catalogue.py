"""Each lab's test catalogue: seeded from the shipped NABM subset, then the lab's own.

The NABM rows (code, label, B coefficient) are reference data copied verbatim
from CNAM's table (data/SOURCES.md). Specimen kind and pre-analytical questions
are NOT in the NABM: they come from data/lab_defaults.csv, Étanche's default
pre-analytical settings, which each lab admin may change (docs/catalogue.md).
"""

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from etanche.journal import services as journal
from etanche.journal.models import Action
from etanche.orders import wording
from etanche.orders.models import CatalogueTest
from etanche.orders.preanalytical import QUESTIONS, SPECIMEN_KINDS

DATA_DIR = Path(__file__).resolve().parent / "data"
LOCAL_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")


@dataclass(frozen=True)
class NabmAct:
    code: str
    label: str
    short_label: str
    coefficient_b: int
    specimen: str
    questions: str

    @property
    def display_label(self) -> str:
        # The short label is the readable one (the long one is cut at 100 characters), in
        # proper French (orders/wording.py); the official one stays beside it on the pages.
        return wording.french_label(self.short_label or self.label)


def official_label(code: str) -> str | None:
    """The NABM's own label of `code`, verbatim; None for a local test."""
    act = nabm_acts().get(code)
    return act.label if act else None


def found_by(test: CatalogueTest) -> str:
    """The texts a test is found by: code, label, official label, documented synonyms."""
    return " ".join([test.code, test.label, official_label(test.code) or "",
                     *wording.synonyms().get(test.code, ())])


@functools.cache
def nabm_acts() -> dict[str, NabmAct]:
    with open(DATA_DIR / "lab_defaults.csv", encoding="utf-8", newline="") as fh:
        defaults = {row["code"]: row for row in csv.DictReader(fh)}
    acts = {}
    with open(DATA_DIR / "nabm_subset.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            setting = defaults[row["code"]]
            acts[row["code"]] = NabmAct(
                code=row["code"], label=row["label"], short_label=row["short_label"],
                coefficient_b=int(row["coefficient_b"]), specimen=setting["specimen"],
                questions=setting["questions"],
            )
    return acts


@dataclass(frozen=True)
class PastAct:
    """A NABM act named by a past request (imports) that the lab's catalogue lacks: current
    or deleted since, it keeps its official label. Its specimen is Étanche's default where
    there is one, else none: no tube is made for it, the specimen was taken long ago."""

    code: str
    label: str
    specimen: str
    question_keys: tuple[str, ...] = ()


@functools.cache
def nabm_reference() -> dict[str, dict]:
    """Every act of the shipped NABM (data/nabm.csv: 962 current and 112 deleted acts, as
    of April 2019, data/SOURCES.md) by code: a lab's history names acts its catalogue no
    longer offers, or never did."""
    with open(DATA_DIR / "nabm.csv", encoding="utf-8", newline="") as fh:
        return {row["code"]: row for row in csv.DictReader(fh)}


def past_tests(lab, codes: list[str]) -> dict[str, "CatalogueTest | PastAct"]:
    """The tests a past request's codes name: the lab's own (enabled or since disabled),
    then acts of the NABM. A code found in neither is left out."""
    found: dict = {t.code: t for t in all_tests(lab).filter(code__in=codes)}
    for code in codes:
        row = nabm_reference().get(code)
        if code not in found and row is not None:
            default = nabm_acts().get(code)
            found[code] = PastAct(code, wording.french_label(row["short_label"] or row["label"]),
                                  default.specimen if default else "")
    return found


def seed_catalogue(lab) -> int:
    """Give the lab the shipped NABM acts it does not have yet; returns how many were added.

    Idempotent and safe to race: the (lab, code) constraint drops duplicates.
    A test the lab admin disabled or edited is left as it is.
    """
    have = set(CatalogueTest.objects.for_lab(lab).values_list("code", flat=True))
    rows = [
        CatalogueTest(lab_id=lab.pk, code=act.code, label=act.display_label,
                      origin=CatalogueTest.NABM, coefficient_b=act.coefficient_b,
                      specimen=act.specimen, questions=act.questions)
        for act in nabm_acts().values() if act.code not in have
    ]
    CatalogueTest.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def ensure_seeded(lab) -> None:
    if not CatalogueTest.objects.for_lab(lab).filter(origin=CatalogueTest.NABM).exists():
        seed_catalogue(lab)


def enabled_tests(lab):
    ensure_seeded(lab)
    return CatalogueTest.objects.for_lab(lab).filter(enabled=True)


def all_tests(lab):
    ensure_seeded(lab)
    return CatalogueTest.objects.for_lab(lab)


def search_tests(lab, text: str, limit: int = 20):
    """Tests whose code starts with `text`, or whose label, official NABM label or documented
    synonyms (data/synonyms.csv) hold every word of it, accents and case aside: "glycémie",
    "GLYCEMIE" and "glycemie" find the same tests, "tsh" finds "T.S.H.". A synonym typed
    whole comes first ("nfs": the blood count before tests merely mentioning it). No
    personal data here; a lab's catalogue is a few hundred rows, filtered in Python."""
    text = (text or "").strip()
    if not text:
        return []
    tests = enabled_tests(lab)
    if text.isdigit() or LOCAL_CODE.match(text.upper()):
        by_code = list(tests.filter(code__startswith=text.upper())[:limit])
        if by_code:
            return by_code
    folded = wording.fold(text)
    found = [t for t in tests.order_by("code") if wording.matches(text, found_by(t))]
    found.sort(key=lambda t: folded not in {wording.fold(s)
                                            for s in wording.synonyms().get(t.code, ())})
    return found[:limit]


def _check_setting(specimen: str, questions: str) -> str:
    errors = {}
    if specimen not in SPECIMEN_KINDS:
        errors["specimen"] = "Type d'échantillon inconnu."
    unknown = [q for q in questions.split() if q not in QUESTIONS]
    if unknown:
        errors["questions"] = "Question pré-analytique inconnue."
    if errors:
        raise ValidationError(errors)
    return " ".join(dict.fromkeys(questions.split()))


@transaction.atomic
def set_enabled(lab, user, test: CatalogueTest, enabled: bool) -> CatalogueTest:
    test.enabled = enabled
    test.save(update_fields=["enabled", "updated_at"])
    journal.record(lab=lab, user=user, action=Action.UPDATE, object_type="catalogue",
                   object_id=test.code, detail={"enabled": enabled})
    return test


@transaction.atomic
def update_settings(lab, user, test: CatalogueTest, *, specimen: str, questions: str
                    ) -> CatalogueTest:
    test.questions = _check_setting(specimen, questions)
    test.specimen = specimen
    test.save(update_fields=["specimen", "questions", "updated_at"])
    journal.record(lab=lab, user=user, action=Action.UPDATE, object_type="catalogue",
                   object_id=test.code, detail={"specimen": specimen})
    return test


@transaction.atomic
def add_local_test(lab, user, *, code: str, label: str, specimen: str, questions: str = ""
                   ) -> CatalogueTest:
    """A test the lab performs outside the NABM (hors nomenclature), under its own code.

    Local codes start with a letter so they never collide with a 4-digit NABM code.
    """
    code = (code or "").strip().upper()
    label = " ".join((label or "").split())
    errors = {}
    if not LOCAL_CODE.match(code):
        errors["code"] = ("Un code local commence par une lettre, suivie de 1 à 9 lettres "
                          "ou chiffres (les codes à 4 chiffres sont ceux de la NABM).")
    elif CatalogueTest.objects.for_lab(lab).filter(code=code).exists():
        errors["code"] = "Ce code existe déjà dans le catalogue du laboratoire."
    if not label:
        errors["label"] = "Indiquez le libellé de l'analyse."
    elif len(label) > 200:
        errors["label"] = "Le libellé dépasse 200 caractères."
    if errors:
        raise ValidationError(errors)
    questions = _check_setting(specimen, questions)
    test = CatalogueTest.objects.create(lab=lab, code=code, label=label,
                                        origin=CatalogueTest.LOCAL, specimen=specimen,
                                        questions=questions)
    journal.record(lab=lab, user=user, action=Action.CREATE, object_type="catalogue",
                   object_id=code)
    return test
