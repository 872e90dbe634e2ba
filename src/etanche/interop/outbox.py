"""Writing the outbox: receivers of the orders and patients signals, in their transaction.

Each change that a destination takes becomes one sealed OutboxMessage per
destination, written before the service's journal entry and committed with it:
a request saved without its message, or a message without its request, cannot
happen. A message that cannot be built raises, and the change is refused with it; one that
builds but fails the 2.5 validation (done by the sender) is parked, never sent.
The control id (MSH-10) is chosen here, once: a message sent again after a crash
carries the same one, so a receiver that already acknowledged it can tell.
"""

import secrets
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from etanche.interop import hl7
from etanche.interop.models import ORDERS, PATIENTS, Destination, OutboxMessage
from etanche.labs.models import Lab
from etanche.orders.catalogue import nabm_reference
from etanche.orders.models import CatalogueTest, Order, OrderTest, Specimen
from etanche.orders.preanalytical import CONTAINERS, SPECIMEN_KINDS
from etanche.patients import services as patients


def new_control_id() -> str:
    return "ET" + secrets.token_hex(9).upper()  # 20 characters, MSH-10's length


# Fixed SQL (a constant): asked on every registration and request entry, and answered
# "none" in most labs, an ORM query cost 0.8 ms of CPU a time, this one 0.1 ms (issue 25).
# Read in the transaction of each change, never cached: a destination added by another
# process is taken at the next change, as before.
_KINDS_TAKEN = (f"SELECT id, messages FROM {Destination._meta.db_table} "  # noqa: S608
                "WHERE lab_id = %s")


def destinations_taking(lab, kind: str) -> list[Destination]:
    with connection.cursor() as cursor:
        cursor.execute(_KINDS_TAKEN, [getattr(lab, "pk", lab)])
        ids = [pk for pk, messages in cursor.fetchall() if Destination.kind_in(kind, messages)]
    return list(Destination.objects.for_lab(lab).filter(pk__in=ids)) if ids else []


def _person(lab, patient_id: int) -> hl7.Person:
    found = patients.live_envelopes(lab, [patient_id])
    if not found:
        raise hl7.HL7Error(f"patient {patient_id} is not a live record of the lab")
    return hl7.Person.from_envelope(patient_id, found[0][1])


def _request(lab, order: Order, *, clinical_info: bool) -> hl7.Request:
    tubes = list(Specimen.objects.for_lab(lab).filter(order_id=order.pk).order_by("barcode"))
    rows = list(OrderTest.objects.for_lab(lab).filter(order_id=order.pk).order_by("code"))
    origins = dict(CatalogueTest.objects.for_lab(lab).filter(
        code__in=[r.code for r in rows]).values_list("code", "origin"))
    tests = []
    for row in rows:
        kind = SPECIMEN_KINDS.get(row.specimen)
        used = [t for t in tubes if kind and t.container == kind.container]
        # A past request's NABM act the catalogue lacks (imports) is still a NABM code.
        origin = origins.get(row.code) or ("nabm" if row.code in nabm_reference() else "local")
        tests.append(hl7.Test(row.code, row.label, origin, tuple(
            hl7.Tube(t.barcode, t.container, CONTAINERS[t.container].label, kind.key,
                     kind.label, t.sampled_at) for t in used)))
    sampled = [t.sampled_at for t in tubes if t.sampled_at]
    clinical = order.get_sealed().get("clinical_info") or "" if clinical_info else ""
    return hl7.Request(order.number, order.urgent, tuple(tests), clinical,
                       order.created_at, min(sampled) if sampled else None)


def _write(lab, destination: Destination, *, patient_id, order_id, message_type, event,
           control_id, er7, now) -> OutboxMessage:
    row = OutboxMessage(lab_id=lab.pk, destination=destination, patient_ref=patient_id,
                        order_ref=order_id, message_type=message_type, event=event,
                        control_id=control_id, next_attempt_at=now, created_at=now)
    row.set_sealed({"er7": er7})
    row.save(force_insert=True)
    return row


def _lab(lab) -> Lab:
    return lab if isinstance(lab, Lab) else Lab.objects.get(pk=lab)


_last_written = None


def _now():
    """A timestamp strictly after the last one this process gave: the sender's order is
    created_at, and two messages of one transaction keep the order they were written in.
    Two changes committed by two processes in the same microsecond may go in either order
    (ties fall to the random primary key)."""
    global _last_written
    now = timezone.now()
    if _last_written is not None and now <= _last_written:
        now = _last_written + timedelta(microseconds=1)
    _last_written = now
    return now


def _header(lab, destination: Destination, now) -> hl7.Header:
    return hl7.Header(facility_from=lab.finess, application_to=destination.name,
                      facility_to=destination.facility, control_id=new_control_id(),
                      moment=now)


def write_order_message(lab, order: Order, control: str) -> list[OutboxMessage]:
    lab, written = _lab(lab), []
    destinations = destinations_taking(lab, ORDERS)
    if not destinations:
        return written
    person = _person(lab, order.patient_id)
    plain = _request(lab, order, clinical_info=False)
    full = (_request(lab, order, clinical_info=True)
            if any(d.clinical_info for d in destinations) else plain)
    for destination in destinations:
        now = _now()
        header = _header(lab, destination, now)
        er7 = hl7.order_message(header, person, full if destination.clinical_info else plain,
                                control, clinical_info=destination.clinical_info)
        written.append(_write(lab, destination, patient_id=order.patient_id, order_id=order.pk,
                              message_type="OML^O21", event=control,
                              control_id=header.control_id, er7=er7, now=now))
    return written


def write_patient_message(lab, patient_id: int, event: str, *, merged_id=None
                          ) -> list[OutboxMessage]:
    lab, written = _lab(lab), []
    destinations = destinations_taking(lab, PATIENTS)
    if not destinations:
        return written
    person = _person(lab, patient_id)
    for destination in destinations:
        now = _now()
        header = _header(lab, destination, now)
        if event == hl7.MERGE:
            er7 = hl7.merge_message(header, person, merged_id)
        else:
            er7 = hl7.patient_message(header, person, event)
        written.append(_write(lab, destination, patient_id=patient_id, order_id=None,
                              message_type=f"ADT^{event}", event=event,
                              control_id=header.control_id, er7=er7, now=now))
    return written


# --- receivers (connected in InteropConfig.ready) -------------------------------------

def on_request_created(sender, *, lab, order, **kwargs):
    write_order_message(lab, order, hl7.NEW)


def on_request_cancelled(sender, *, lab, order, **kwargs):
    write_order_message(lab, order, hl7.CANCEL)


def on_request_changed(sender, *, lab, order, **kwargs):
    write_order_message(lab, order, hl7.CHANGE)


def on_patient_created(sender, *, lab, patient_id, **kwargs):
    write_patient_message(lab, patient_id, hl7.CREATE)


def on_patient_corrected(sender, *, lab, patient_id, **kwargs):
    write_patient_message(lab, patient_id, hl7.UPDATE)


def on_patient_merged(sender, *, lab, survivor_id, merged_id, **kwargs):
    write_patient_message(lab, survivor_id, hl7.MERGE, merged_id=merged_id)
