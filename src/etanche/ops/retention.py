"""`etanche retention run`: delete the records past their retention, with their requests.

The rule is the patients app's (patients/retention.py); this module gathers what it
cannot see from below: the last activity of each patient's requests, and the legal
holds (open data-subject requests, rights; patients named in a breach case not yet
closed, breach). Requests are deleted here, before their patients, because orders
PROTECT their patient and have no deletion service of their own (with the
specimens and tests, which cascade from the request).
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Max

from etanche.breach.models import CaseStatus
from etanche.breach.services import cases_of_lab
from etanche.orders.models import Order, Specimen
from etanche.patients import retention
from etanche.rights import services as rights

BATCH = 200


@dataclass
class Report:
    due: list[int]
    held: int
    counts: dict = field(default_factory=dict)


def held_ids(lab) -> set[int]:
    held = set(rights.held_patient_ids(lab))
    for case in cases_of_lab(lab).exclude(status=CaseStatus.CLOSED):
        held |= {int(pid) for pid in case.get_sealed().get("patient_ids", [])}
    return held


def request_activity(lab) -> dict:
    rows = (Order.objects.for_lab(lab).values("patient_id")
            .annotate(last=Max("status_changed_at")).values_list("patient_id", "last"))
    return dict(rows)


def run(lab, user=None, *, dry_run: bool = False, today=None) -> Report:
    held = held_ids(lab)
    due = retention.due(lab, held=held, activity=request_activity(lab), today=today)
    report = Report(due, len(held))
    if dry_run:
        return report
    totals = {"patients": 0, "merged_records": 0, "versions": 0, "index_rows": 0,
              "requests": 0, "specimens": 0}
    for start in range(0, len(due), BATCH):
        batch = due[start:start + BATCH]
        with transaction.atomic():
            ids = retention.with_merged(lab, batch)
            orders = Order.objects.for_lab(lab).filter(patient_id__in=ids)
            specimens = Specimen.objects.for_lab(lab).filter(order__in=orders).aggregate(
                n=Count("pk"))["n"]
            requests = orders.count()
            orders.delete()
            counts = retention.delete(lab, user, batch,
                                      context={"requests": requests, "specimens": specimens})
        for key, value in {**counts, "requests": requests, "specimens": specimens}.items():
            totals[key] += value
    report.counts = totals
    return report
