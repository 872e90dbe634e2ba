"""Records the services return -> FHIR resources, through the ONE mapping (exports/fhir_ndjson).

The record dicts are those of exports/records.py (profile field names), built
from what the patients and orders services opened; the API's "profile" is every
field, minus the clinical information of requests (clinical_info and the
request's internal note, as on the web page) unless the token holds
etanche/clinical.read and the user the clinical permission.
"""

from etanche.exports import fhir_ndjson as mapping
from etanche.exports.profiles import Profile
from etanche.exports.profiles import get as profile_named
from etanche.exports.records import patient_record, request_record
from etanche.orders.models import Order

_EVERY_FIELD = profile_named("migration").fields
CLINICAL_FIELDS = ("clinical_info", "request_notes")
WITH_CLINICAL = Profile("api", "API FHIR", "Intégrateurs (docs/fhir.md)", _EVERY_FIELD)
WITHOUT_CLINICAL = Profile("api", "API FHIR", "Intégrateurs (docs/fhir.md)",
                           tuple(f for f in _EVERY_FIELD if f not in CLINICAL_FIELDS))


def _meta(revision) -> dict:
    return {"versionId": str(revision)} if revision else {}


def patient_fields(record) -> dict:
    """A patients.PatientRecord -> the record's patient fields."""
    return patient_record(WITH_CLINICAL, record.id, record.fields, None)


def patient(record, revision=None) -> dict:
    resource = mapping.patient(patient_fields(record), str(record.id), exchange=True)
    if revision:
        resource["meta"] = _meta(revision)
    return resource


def practitioner(record) -> dict | None:
    return mapping.practitioner(patient_fields(record), str(record.id))


def coverages(record) -> list[dict]:
    return mapping.coverages(patient_fields(record), str(record.id))


def _order_dict(order: Order, details, tubes) -> dict:
    return {
        "pk": order.pk, "number": order.number, "status": order.status,
        "urgent": order.urgent, "created_at": order.created_at,
        "sealed": {key: getattr(details, key, None) for key in Order.SEALED_KEYS},
        "tests": [(t.code, t.label) for t in order.tests.all()],
        "specimens": [{"barcode": s.barcode, "container": s.container,
                       "sampled_at": s.sampled_at, "received_at": s.received_at}
                      for s in tubes],
    }


def service_request(lab, order: Order, details, *, clinical: bool) -> tuple[dict, list[dict]]:
    """(ServiceRequest, its Specimens) of an order opened by orders.read_order."""
    tubes = list(order.specimens.all().order_by("barcode"))
    profile = WITH_CLINICAL if clinical else WITHOUT_CLINICAL
    r = request_record(profile, _order_dict(order, details, tubes))
    for fields, row in zip(r.get("specimens") or [], tubes, strict=True):
        fields["specimen_id"] = str(row.pk)
    rid, pid = str(order.pk), str(order.patient_id)
    specimens = mapping.specimens(r, rid, pid, exchange=True)
    resource = mapping.service_request(r, rid, pid, specimens, lab_id=lab.pk)
    resource["meta"] = _meta(order.revision)
    return resource, specimens


def organization(lab) -> dict:
    return mapping.organization(lab.pk, lab.name, lab.finess)
