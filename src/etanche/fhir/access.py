"""Fetch the records a request names, for the token's lab only: 404 for another lab's.

The API's counterpart of web/access.py. Authority was checked once at the entry point
(etanche.fhir.door.endpoint: scope, the token's role, the user's current role); these
helpers only keep tenants apart and turn the services' "not found" into a FHIR 404.
Rows are read through the patients and orders services; nothing sealed is opened here.
"""

import re

from etanche.fhir.outcome import FhirError
from etanche.orders import services as orders
from etanche.orders.models import Order, Specimen
from etanche.patients import services as patients

_ID = re.compile(r"^[0-9]{1,19}$")


def not_found(kind: str, rid) -> FhirError:
    return FhirError(404, f"{kind}/{rid} : ressource inconnue dans ce laboratoire.")


def numeric_id(kind: str, rid) -> int:
    """A resource id that names a row (digits); anything else is simply unknown."""
    rid = str(rid) if isinstance(rid, int) else rid
    if not isinstance(rid, str) or not _ID.match(rid) or int(rid) > 2**63 - 1:
        raise not_found(kind, rid)
    return int(rid)


def patient_row(lab, rid):
    """(Patient row, redirected-from id) following merges; 404 unknown or another lab's."""
    pid = numeric_id("Patient", rid)
    try:
        return patients.resolve_patient(lab, pid)
    except patients.PatientNotFound:
        raise not_found("Patient", rid) from None


def patient_record(lab, user, rid, purpose: str) -> patients.PatientRecord:
    """The record, unsealed by the patients service (its READ journaled there)."""
    pid = numeric_id("Patient", rid)
    try:
        return patients.get_patient(lab, user, pid, purpose)
    except patients.PatientNotFound:
        raise not_found("Patient", rid) from None


def order(lab, rid) -> Order:
    oid = numeric_id("ServiceRequest", rid)
    try:
        return orders.get_order(lab, oid)
    except orders.OrderNotFound:
        raise not_found("ServiceRequest", rid) from None


def orders_of_lab(lab):
    """The lab's requests, clear operational columns only (number, status, dates)."""
    return Order.objects.for_lab(lab)


def specimen(lab, rid) -> Specimen:
    sid = numeric_id("Specimen", rid)
    found = Specimen.objects.for_lab(lab).select_related("order").filter(pk=sid).first()
    if found is None:
        raise not_found("Specimen", rid)
    return found


def specimens_of_lab(lab):
    return Specimen.objects.for_lab(lab)
