"""Which patient records are past their retention, and deleting them.

The periods, their defaults and what they rest on: docs/retention.md. A record is
due when its last activity (its own last change, or its last request's, which the
caller passes: orders sit above patients) is older than the lab's period AND the
person is past the age until which a minor's record is kept. Records under a legal
hold (an open data-subject request, a breach case: the caller gathers them, as
ops/retention.py does) are never due. A merged record goes with its survivor.

Deleting removes the record, its merged records, their versions and blind-index
rows, in the caller's transaction, journaled by ids and counts only.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.patients.models import Patient, PatientIndex, PatientVersion, RetentionPolicy
from etanche.patients.search import open_values

# Defaults, conservative (kept long) until the lab confirms its own: docs/retention.md.
DEFAULT_RECORD_YEARS = 20
DEFAULT_MINOR_UNTIL_AGE = 28
MIN_RECORD_YEARS = 1
BATCH = 500


@dataclass(frozen=True)
class Policy:
    record_years: int
    minor_until_age: int
    configured: bool


def policy(lab) -> Policy:
    row = RetentionPolicy.objects.filter(lab_id=getattr(lab, "pk", lab)).first()
    if row is None:
        return Policy(DEFAULT_RECORD_YEARS, DEFAULT_MINOR_UNTIL_AGE, False)
    return Policy(row.record_years, row.minor_until_age, True)


def set_policy(lab, user=None, *, record_years: int, minor_until_age: int) -> Policy:
    """Set the lab's periods (journaled); French ValidationError when out of bounds."""
    errors = {}
    if not MIN_RECORD_YEARS <= record_years <= 200:
        errors["record_years"] = [f"Entre {MIN_RECORD_YEARS} et 200 ans."]
    if not 0 <= minor_until_age <= 130:
        errors["minor_until_age"] = ["Entre 0 et 130 ans."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        RetentionPolicy.objects.update_or_create(
            lab_id=getattr(lab, "pk", lab),
            defaults={"record_years": record_years, "minor_until_age": minor_until_age})
        journal(lab=lab, user=user, action=Action.UPDATE, object_type="retention_policy",
                object_id=getattr(lab, "pk", lab),
                detail={"record_years": record_years, "minor_until_age": minor_until_age})
    return policy(lab)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def due(lab, *, held: set[int], activity: dict[int, datetime],
        today: date | None = None) -> list[int]:
    """Ids of the lab's live records past retention, oldest activity first; `activity`:
    the last request activity per patient id (merged records' included by the caller),
    `held`: ids kept whatever their age (a hold on a merged record keeps its survivor)."""
    today = today or timezone.localdate()
    rules = policy(lab)
    cutoff = timezone.make_aware(datetime.combine(
        _years_before(today, rules.record_years), datetime.min.time()))
    born_before = _years_before(today, rules.minor_until_age).isoformat()
    rows = (Patient.objects.for_lab(lab).filter(merged_into__isnull=False)
            .values_list("pk", "merged_into_id", "updated_at"))
    into = {pk: target for pk, target, _ in rows}
    updated = {pk: moment for pk, _, moment in rows}

    def survivor(pid: int) -> int:
        for _ in range(20):  # merge chains are short (services.MAX_REDIRECTS)
            if pid not in into:
                break
            pid = into[pid]
        return pid

    held_live = {survivor(pid) for pid in held}
    # A merged record's activity (its requests, its last change) counts for its survivor.
    last: dict[int, datetime] = {}
    for pid, moment in [*activity.items(), *updated.items()]:
        owner = survivor(pid)
        last[owner] = max(moment, last.get(owner, moment))
    rows = (Patient.objects.for_lab(lab).live().filter(updated_at__lt=cutoff)
            .exclude(pk__in=held_live).order_by("updated_at", "pk"))
    found = []
    for pk, env in open_values(rows.values_list(*Patient.opening_columns())):
        if last.get(pk) and last[pk] >= cutoff:
            continue
        birth = env.get("birth_date") or ""
        if birth and birth > born_before:
            continue  # still under the age until which a minor's record is kept
        found.append(pk)
    return found


def with_merged(lab, patient_ids) -> set[int]:
    """The ids and those of every record merged into them (chains followed)."""
    chain = {int(pid) for pid in patient_ids}
    frontier = set(chain)
    while frontier:  # merge chains: records merged into records merged into...
        frontier = set(Patient.objects.for_lab(lab).filter(merged_into__in=frontier)
                       .values_list("pk", flat=True)) - chain
        chain |= frontier
    return chain


def delete(lab, user, patient_ids: list[int], *, context: dict | None = None) -> dict:
    """Delete these live records with their merged records, versions and index rows.
    The caller deletes the requests first (orders PROTECT their patient) and holds the
    transaction; journaled here, by ids and counts, last."""
    ids = [int(pid) for pid in patient_ids]
    with transaction.atomic():
        chain = with_merged(lab, ids)
        rows = Patient.objects.for_lab(lab).filter(pk__in=chain)
        versions = PatientVersion.objects.filter(Q(patient__in=chain) | Q(other__in=chain))
        counts = {"patients": len(ids), "merged_records": len(chain) - len(ids),
                  "versions": versions.count(),
                  "index_rows": PatientIndex.objects.filter(patient__in=chain).count()}
        versions.delete()
        PatientIndex.objects.filter(patient__in=chain).delete()
        # Merged records first: the survivors are PROTECTed by their merged_into.
        merged_first = sorted(chain - set(ids))
        while merged_first:
            leaves = list(rows.filter(pk__in=merged_first).exclude(
                merged_records__isnull=False).values_list("pk", flat=True))
            if not leaves:
                raise RuntimeError("merge loop among records due for deletion")
            Patient.objects.filter(pk__in=leaves).delete()
            merged_first = [pid for pid in merged_first if pid not in leaves]
        Patient.objects.filter(pk__in=ids).delete()
        journal(lab=lab, user=user, entries=[
            {"action": Action.RETENTION, "object_type": "patient", "object_id": pid,
             "purpose": "durée de conservation échue",
             "detail": {"deleted": True}} for pid in sorted(chain)
        ] + [{"action": Action.RETENTION, "object_type": "lab", "object_id": lab.pk,
              "purpose": "durée de conservation échue",
              "detail": {**counts, **(context or {})}}])
    return counts


