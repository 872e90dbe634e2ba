"""Where the analytical LIS says a request stands, from its ORL^O22 answers and updates.

Kept beside the request (RequestProgress), never moving back: an "accepted"
arriving after "results available" changes nothing. Journaled on the patient,
with ids and the status only.
"""

from django.db import transaction
from django.utils import timezone

from etanche.interop.hl7 import Update
from etanche.interop.models import FillerStatus, RequestProgress
from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.orders.models import Order

RANK = {FillerStatus.ACCEPTED: 1, FillerStatus.IN_PROGRESS: 2, FillerStatus.RESULTS: 3}
ACTOR = "interop:filler"


def apply(lab, updates: list[Update], control_id: str) -> int:
    """Record the updates naming requests of `lab`; how many moved a request forward."""
    moved, entries = 0, []
    with transaction.atomic():
        for update in updates:
            found = (Order.objects.for_lab(lab).filter(number=update.number)
                     .values_list("pk", "patient_id").first())
            if found is None:
                continue
            order_id, patient_id = found
            row = RequestProgress.objects.for_lab(lab).select_for_update().filter(
                order_ref=order_id).first()
            if row is not None and RANK[FillerStatus(row.status)] >= RANK[
                    FillerStatus(update.status)]:
                continue
            RequestProgress.objects.update_or_create(
                lab=lab, order_ref=order_id,
                defaults={"status": update.status, "updated_at": timezone.now(),
                          "control_id": control_id[:40]})
            moved += 1
            entries.append({"action": Action.INTEROP_STATUS, "object_type": "patient",
                            "object_id": patient_id, "actor": ACTOR,
                            "detail": {"order": order_id, "status": update.status}})
        if entries:
            journal(lab=lab, user=None, entries=entries)
    return moved


def status_of(lab, order_ids) -> dict[int, FillerStatus]:
    """{order id: the LIS's status} for the requests it spoke about."""
    return {pk: FillerStatus(status) for pk, status in RequestProgress.objects.for_lab(lab)
            .filter(order_ref__in=list(order_ids)).values_list("order_ref", "status")}
