"""The identity review of imported likely duplicates: who they are (masked), clearing the flag.

An import never merges: a row that looks like an earlier one (in the file, or a patient
already in the lab) is taken in as its own record with `ImportedRecord.review` set and the
rule that matched. This is the list the lab admin works through. It shows each flagged
record masked (initials, birth year, the last two digits of the NIR), the rule and the
other record's id; the admin opens the records where a role that reads them can, merges
there if they are one person, and clears the flag here. The list is journaled as a read of
the records it shows, each clearing as an update.
"""

from dataclasses import dataclass

from django.db import transaction

from etanche.imports.models import ImportedRecord, Kind
from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.patients.models import Patient
from etanche.patients.search import open_values

OBJECT_TYPE = "import-review"
LISTED = 200  # a page; the rest follow as flags are cleared
RULES = {"nir": "même NIR", "birth_name_dob": "même nom de naissance et date de naissance",
         "phonetic_dob": "noms phonétiquement proches, même date de naissance"}


class ReviewNotFound(Exception):
    """No flagged import record of this lab has this id."""


@dataclass(frozen=True)
class Flagged:
    id: int  # the ImportedRecord's
    patient_id: int  # the imported record
    initials: str
    birth_year: str
    nir_end: str  # the last two digits of its NIR, or ""
    rule: str  # the rule's French wording
    existing_id: int | None  # the patient already in the lab, or None (within the file)


def initials(env: dict) -> str:
    names = [env.get("birth_name") or "", *(env.get("first_names") or [])[:1]]
    return " ".join(n[:1].upper() + "." for n in names if n)


def mask(patient_id: int, env: dict | None) -> dict:
    if env is None:  # merged away or removed since
        return {"initials": "", "birth_year": "", "nir_end": ""}
    return {"initials": initials(env), "birth_year": (env.get("birth_date") or "")[:4],
            "nir_end": (env.get("ins") or "")[-2:]}


def flagged(lab, user) -> tuple[list[Flagged], int]:
    """The first LISTED flagged records, oldest first, and how many are flagged in all."""
    records = ImportedRecord.objects.for_lab(lab).filter(kind=Kind.PATIENT, review=True)
    total = records.count()
    page = list(records.order_by("created_at", "id")
                .values_list("id", "target_id", "review_rule", "review_of")[:LISTED])
    ids = {target for _, target, _, _ in page}
    envs = dict(open_values(Patient.objects.for_lab(lab).filter(pk__in=ids)
                            .values_list(*Patient.opening_columns())))
    out = [Flagged(rid, target, **mask(target, envs.get(target)),
                   rule=RULES.get(rule, rule), existing_id=other)
           for rid, target, rule, other in page]
    if out:
        with transaction.atomic():
            journal(lab=lab, user=user, action=Action.READ, object_type=OBJECT_TYPE,
                    detail={"count": len(out), "patients": sorted(ids), "masked": True})
    return out, total


def clear(lab, user, record_id: int) -> None:
    """The admin has looked: not one person (or merged elsewhere). Journaled."""
    with transaction.atomic():
        done = (ImportedRecord.objects.for_lab(lab)
                .filter(pk=record_id, kind=Kind.PATIENT, review=True)
                .select_for_update().values_list("target_id", "review_rule").first())
        if done is None:
            raise ReviewNotFound
        ImportedRecord.objects.for_lab(lab).filter(pk=record_id).update(review=False)
        journal(lab=lab, user=user, action=Action.UPDATE, object_type=OBJECT_TYPE,
                object_id=str(record_id), detail={"patient": done[0], "rule": done[1],
                                             "review": "cleared"})
