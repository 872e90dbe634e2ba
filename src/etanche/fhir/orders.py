"""ServiceRequest (a request for analyses, all its acts in one resource) and Specimen routes.

Read, search, create; an update is a cancellation only (status `revoked`, with the
reason in the extension .../cancel-reason), as on the web page: nothing is deleted.
Clinical information (reasonCode, note) is shown only to a token holding
etanche/clinical.read whose user's role grants clinical.read.
"""

import re
from datetime import date

from django.core.exceptions import ValidationError

from etanche.accounts.permissions import Perm
from etanche.exports import fhir_ndjson as mapping
from etanche.fhir import access, inbound, paging, records
from etanche.fhir.door import Need, endpoint, validation_outcome
from etanche.fhir.outcome import FhirError, fhir_response
from etanche.fhir.patients import PURPOSE, _opened, etag, if_match, search_form
from etanche.orders import services as orders
from etanche.orders.models import Status

FHIR_STATUSES = {"active": (Status.REGISTERED, Status.SAMPLED, Status.RECEIVED),
                 "revoked": (Status.CANCELLED, Status.REJECTED),
                 "draft": (), "on-hold": (), "completed": (), "entered-in-error": (),
                 "unknown": ()}
SR_PARAMS = ("patient", "subject", "identifier", "status", "authored", "_count", "_include",
             "_cursor", "_format")
SPECIMEN_PARAMS = ("identifier", "request", "_count", "_cursor", "_format")
INCLUDE_PATIENT = "ServiceRequest:patient"
_DATE = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb)?(\d{4}-\d{2}-\d{2})$")
_OPS = {"eq": "", "ge": "__gte", "le": "__lte", "gt": "__gt", "lt": "__lt",
        "sa": "__gt", "eb": "__lt"}


def _clinical(bearer) -> bool:
    return bearer.allows("clinical", "read", Perm.CLINICAL_READ)


def _resources(bearer, order):
    details = orders.read_order(bearer.lab, bearer.user, order, purpose=PURPOSE)
    return records.service_request(bearer.lab, order, details, clinical=_clinical(bearer))


def _reference_id(value: str, kind: str) -> str:
    return value.strip().removeprefix(f"{kind}/")


def _check_params(params, allowed):
    for key in params:
        if key not in allowed:
            raise FhirError(400, f"Paramètre de recherche non pris en charge : {key}. "
                                 f"Pris en charge : {', '.join(allowed)}.", expression=key)


def _sr_criteria(params) -> dict:
    _check_params(params, SR_PARAMS)
    crit = {}
    target = params.get("patient") or params.get("subject")
    if target:
        crit["patient"] = _reference_id(target, "Patient")
    if params.get("identifier"):
        crit["number"] = params["identifier"].rpartition("|")[2].strip()
    if params.get("status"):
        wanted = [s.strip() for s in params["status"].split(",")]
        unknown = [s for s in wanted if s not in FHIR_STATUSES]
        if unknown:
            raise FhirError(400, f"status inconnu : {', '.join(unknown)}.", expression="status")
        crit["status"] = sorted({s for w in wanted for s in FHIR_STATUSES[w]})
    authored = []
    for value in params.getlist("authored"):
        match = _DATE.match(value.strip())
        if not match or match.group(1) == "ne":
            raise FhirError(400, "authored : une date AAAA-MM-JJ, précédée au besoin de ge, le, "
                                 "gt, lt ou eq.", expression="authored")
        try:
            date.fromisoformat(match.group(2))
        except ValueError:
            raise FhirError(400, "authored : date invalide.", expression="authored") from None
        authored.append([match.group(1) or "eq", match.group(2)])
    if authored:
        crit["authored"] = authored
    include = params.getlist("_include")
    if include and include != [INCLUDE_PATIENT]:
        raise FhirError(400, f"_include : seul {INCLUDE_PATIENT} est pris en charge.",
                        expression="_include")
    crit["include"] = bool(include)
    return crit


def _sr_rows(lab, crit: dict):
    rows = access.orders_of_lab(lab)
    if "patient" in crit:
        if not crit["patient"].isdigit() or len(crit["patient"]) > 19:
            return rows.none()
        rows = rows.filter(patient_id=int(crit["patient"]))
    if "number" in crit:
        rows = rows.filter(number=crit["number"])
    if "status" in crit:
        rows = rows.filter(status__in=crit["status"])
    for op, day in crit.get("authored", []):
        rows = rows.filter(**{f"created_at__date{_OPS[op]}": date.fromisoformat(day)})
    return rows.order_by("-created_at", "-pk")


def sr_search(request, bearer, params):
    if params.get("_cursor"):
        state = paging.open_(bearer, params["_cursor"], "ServiceRequest")
        crit, offset, count = state["crit"], state["offset"], state["count"]
    else:
        crit, offset, count = _sr_criteria(params), 0, paging.count_of(params)
    if crit.get("include") and not bearer.allows("Patient", "read", Perm.PATIENT_READ):
        raise FhirError(403, f"_include={INCLUDE_PATIENT} demande la portée Patient.read.")
    rows = _sr_rows(bearer.lab, crit)
    total = rows.count()
    page = list(rows.prefetch_related("tests")[offset:offset + count])
    matches, patients_seen, included = [], set(), []
    for order in page:
        resource, _ = _resources(bearer, order)
        matches.append(resource)
        if crit.get("include") and order.patient_id not in patients_seen:
            patients_seen.add(order.patient_id)
            row, redirected = access.patient_row(bearer.lab, str(order.patient_id))
            included.append(_opened(bearer, row, redirected))
    more = offset + count < total
    next_state = {"crit": crit, "offset": offset + count, "count": count} if more else None
    return fhir_response(paging.bundle(request, "ServiceRequest", matches, total=total,
                                       next_state=next_state, bearer=bearer,
                                       included=included))


def _create(request, bearer):
    resource = inbound.body_of(request, "ServiceRequest")
    pid, kwargs, paths = inbound.service_request_input(resource)
    try:
        row, _ = access.patient_row(bearer.lab, pid)
    except FhirError:
        raise FhirError(422, f"ServiceRequest.subject : Patient/{pid} inconnu dans ce "
                             "laboratoire.", expression="ServiceRequest.subject") from None
    try:
        order = orders.create_order(bearer.lab, bearer.user, row, **kwargs)
    except ValidationError as exc:
        raise validation_outcome(exc, paths, "ServiceRequest") from None
    order = access.order(bearer.lab, str(order.pk))
    resource, _ = _resources(bearer, order)
    return fhir_response(resource, 201, {
        "Location": request.build_absolute_uri(
            f"/fhir/ServiceRequest/{order.pk}/_history/{order.revision}"),
        "ETag": etag(order.revision)})


@endpoint(GET=Need("ServiceRequest", "read", Perm.ORDER_READ, reveals=(Perm.CLINICAL_READ,)),
          POST=Need("ServiceRequest", "write", Perm.ORDER_WRITE))
def service_request_type(request, bearer):
    if request.method == "POST":
        return _create(request, bearer)
    return sr_search(request, bearer, request.GET)


@endpoint(POST=Need("ServiceRequest", "read", Perm.ORDER_READ))
def service_request_search(request, bearer):
    return sr_search(request, bearer, search_form(request))


def _cancel(request, bearer, rid):
    wanted = if_match(request)
    resource = inbound.body_of(request, "ServiceRequest")
    if resource.get("id") not in (None, rid):
        raise FhirError(400, "L'id de la ressource ne correspond pas à l'adresse.",
                        expression="ServiceRequest.id")
    status, reason = inbound.cancellation(resource)
    order = access.order(bearer.lab, rid)
    if wanted is not None and wanted != str(order.revision):
        raise FhirError(412, f"Version {wanted} périmée : la version actuelle est "
                             f"{order.revision}.")
    current = mapping.STATUS.get(order.status, "unknown")
    if status == "revoked" and current != "revoked":
        try:
            orders.cancel(bearer.lab, bearer.user, order, reason)
        except ValidationError as exc:
            raise validation_outcome(exc, {"reason": "ServiceRequest.extension"},
                                     "ServiceRequest.status") from None
    elif status != current:
        raise FhirError(422, "Une demande ne se modifie par l'API que pour être annulée "
                             "(status « revoked » et le motif en extension "
                             f"{mapping.EXT}cancel-reason).", expression="ServiceRequest.status")
    order = access.order(bearer.lab, rid)
    resource, _ = _resources(bearer, order)
    return fhir_response(resource, headers={"ETag": etag(order.revision)})


@endpoint(GET=Need("ServiceRequest", "read", Perm.ORDER_READ, reveals=(Perm.CLINICAL_READ,)),
          PUT=Need("ServiceRequest", "write", Perm.ORDER_WRITE))
def service_request_instance(request, bearer, rid):
    if request.method == "PUT":
        return _cancel(request, bearer, rid)
    order = access.order(bearer.lab, rid)
    resource, _ = _resources(bearer, order)
    return fhir_response(resource, headers={"ETag": etag(order.revision)})


# --- Specimen -------------------------------------------------------------------------

def _specimen_resource(bearer, tube) -> dict:
    _, specimens = _resources(bearer, tube.order)
    return next(s for s in specimens if s["id"] == str(tube.pk))


@endpoint(GET=Need("Specimen", "read", Perm.ORDER_READ))
def specimen_instance(request, bearer, rid):
    return fhir_response(_specimen_resource(bearer, access.specimen(bearer.lab, rid)))


def specimen_search(request, bearer, params):
    if params.get("_cursor"):
        state = paging.open_(bearer, params["_cursor"], "Specimen")
        crit, offset, count = state["crit"], state["offset"], state["count"]
    else:
        _check_params(params, SPECIMEN_PARAMS)
        crit = {}
        if params.get("identifier"):
            crit["barcode"] = params["identifier"].rpartition("|")[2].strip()
        if params.get("request"):
            crit["order"] = _reference_id(params["request"], "ServiceRequest")
        if not crit:
            raise FhirError(400, "Précisez identifier (code-barres) ou request.")
        offset, count = 0, paging.count_of(params)
    rows = access.specimens_of_lab(bearer.lab).select_related("order")
    if "barcode" in crit:
        rows = rows.filter(barcode=crit["barcode"])
    if "order" in crit:
        rows = (rows.filter(order_id=int(crit["order"]))
                if crit["order"].isdigit() and len(crit["order"]) < 19 else rows.none())
    rows = rows.order_by("barcode", "pk")
    total = rows.count()
    opened, matches = {}, []
    for tube in rows[offset:offset + count]:
        if tube.order_id not in opened:
            opened[tube.order_id] = _resources(bearer, tube.order)[1]
        matches += [s for s in opened[tube.order_id] if s["id"] == str(tube.pk)]
    more = offset + count < total
    next_state = {"crit": crit, "offset": offset + count, "count": count} if more else None
    return fhir_response(paging.bundle(request, "Specimen", matches, total=total,
                                       next_state=next_state, bearer=bearer))


@endpoint(GET=Need("Specimen", "read", Perm.ORDER_READ))
def specimen_type(request, bearer):
    return specimen_search(request, bearer, request.GET)


@endpoint(POST=Need("Specimen", "read", Perm.ORDER_READ))
def specimen_search_post(request, bearer):
    return specimen_search(request, bearer, search_form(request))
