"""Reading the journal for the DPO and auditors: filters, access history, signed export."""

import hashlib
import json
from datetime import datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from etanche.journal.chain import from_micros, micros
from etanche.journal.models import Entry, Outcome
from etanche.vault import signing

PATIENT = "patient"


def _day_start(day) -> int:
    return micros(timezone.make_aware(datetime.combine(day, time.min)))


def entries_for_lab(lab, *, user_id=None, action=None, patient_id=None, start=None, end=None):
    query = Entry.objects.filter(lab_id=lab.pk).order_by("-at_us", "-seq")
    if user_id:
        query = query.filter(user_id=user_id)
    if action:
        query = query.filter(action=action)
    if patient_id:
        query = query.filter(object_type=PATIENT, object_id=str(patient_id))
    if start:
        query = query.filter(at_us__gte=_day_start(start))
    if end:
        query = query.filter(at_us__lt=_day_start(end + timedelta(days=1)))
    return query


def access_history(lab, patient_id, merged_ids=()):
    """Who saw or changed this patient's record (and the records merged into it),
    when and why: one indexed query."""
    ids = [str(patient_id), *(str(i) for i in merged_ids)]
    return Entry.objects.filter(lab_id=lab.pk, object_type=PATIENT, object_id__in=ids).order_by(
        "-at_us", "-seq"
    )


EXPORT_FIELDS = (
    "seq",
    "at_us",
    "user_id",
    "actor",
    "action",
    "object_type",
    "object_id",
    "purpose",
    "outcome",
    "detail",
)


def signed_export_lines(lab, start, end):
    """JSON lines of a period's entries, then a last line signing all the previous ones."""
    digest = hashlib.sha256()
    rows = (
        Entry.objects.filter(
            lab_id=lab.pk,
            at_us__gte=_day_start(start),
            at_us__lt=_day_start(end + timedelta(days=1)),
        )
        .order_by("seq")
        .values_list(*EXPORT_FIELDS)
    )
    count = 0
    for row in rows.iterator(chunk_size=5000):
        record = dict(zip(EXPORT_FIELDS, row, strict=True))
        record["at"] = from_micros(record.pop("at_us")).isoformat()
        line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
        digest.update(line.encode())
        count += 1
        yield line
    trailer = {
        "lab_id": lab.pk,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "entries": count,
        "sha256": digest.hexdigest(),
        "pub": signing.journal_public_key(lab.pk),
    }
    trailer["sig"] = signing.sign_journal(lab.pk, json.dumps(trailer, sort_keys=True).encode())
    yield json.dumps({"signature": trailer}, sort_keys=True) + "\n"


def check_signed_export(lines: list[str], public_hex: str) -> str | None:
    """None if the export is complete and signed by `public_hex`, else what is wrong."""
    if not lines:
        return "empty file"
    try:
        trailer = json.loads(lines[-1])["signature"]
        signature = bytes.fromhex(trailer.pop("sig"))
    except (ValueError, KeyError, TypeError):
        return "no signature line"
    digest = hashlib.sha256("".join(lines[:-1]).encode()).hexdigest()
    if trailer.get("pub") != public_hex:
        return "signed by another key"
    if not signing.verify_journal_signature(
        public_hex, signature, json.dumps(trailer, sort_keys=True).encode()
    ):
        return "signature invalid"
    if digest != trailer["sha256"] or len(lines) - 1 != trailer["entries"]:
        return "content differs from what was signed"
    return None


def acted_on_each_other(first_id: int, second_id: int, *, lab_ids, actions, object_type: str,
                        since) -> bool:
    """Whether either user did one of `actions` (successfully) to the other's `object_type`
    record since `since`, in one of `lab_ids`: the journal is where account events are
    kept, in the same transaction as the change and under its MAC chain."""
    pair = (Q(user_id=first_id, object_id=str(second_id))
            | Q(user_id=second_id, object_id=str(first_id)))
    return (Entry.objects.filter(lab_id__in=list(lab_ids), object_type=object_type,
                                 action__in=list(actions), outcome=Outcome.OK,
                                 at_us__gte=micros(since))
            .filter(pair).exists())
