"""Patient, Practitioner (the attending physician) and Coverage (AMO, AMC) routes.

Identity searches (INS, names, birth date, phone) go by POST /fhir/Patient/_search
with a form body, never a query string: a URL ends in access logs and proxies, and
a NIR or a name must not. GET /fhir/Patient takes only `_id`, the local identifier
and a cursor. Names are compared whole (case, accents and hyphens aside), never by
their beginning, as on the web page: `family:contains` is refused with the reason.
"""

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from etanche.accounts.permissions import Perm
from etanche.exports import fhir_ndjson as mapping
from etanche.fhir import access, inbound, paging, records
from etanche.fhir.door import Need, endpoint, validation_outcome
from etanche.fhir.outcome import FhirError, fhir_response, issue
from etanche.patients import services as patients
from etanche.patients.search import PAGE_SIZE

PURPOSE = "API FHIR"
IDENTITY_PARAMS = ("family", "given", "birthdate", "phonetic", "telecom", "phone")
PATIENT_PARAMS = ("_id", "identifier", *IDENTITY_PARAMS, "_count", "_cursor", "_format")
PARTIAL = ("contains", "text", "above", "below")
CLEARABLE = ("used_name", "used_first_name", "street", "postal_code", "city", "email", "phone",
             "blood_group", "notes")
NOT_DUPLICATE = "Etanche-Not-Duplicate"
_VERSION = re.compile(r'^(?:W/)?"?([0-9]{1,12})"?$')


def etag(revision) -> str:
    return f'W/"{revision}"'


def if_match(request) -> str | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    match = _VERSION.match(raw.strip())
    if not match:
        raise FhirError(400, 'If-Match doit être une version, par exemple W/"3".')
    return match.group(1)


def search_form(request):
    """The form body of a POST _search; 415 for anything else."""
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise FhirError(415, "Une recherche POST _search envoie un corps de formulaire "
                             "(application/x-www-form-urlencoded).")
    return request.POST


def _opened(bearer, row, redirected=None):
    record = patients.open_patient(bearer.lab, bearer.user, row, redirected, PURPOSE)
    return records.patient(record, row.revision)


def _read(bearer, rid):
    row, redirected = access.patient_row(bearer.lab, rid)
    return _opened(bearer, row, redirected), row


# --- search ---------------------------------------------------------------------------

def _param(params, name: str) -> str:
    values = params.getlist(name)
    if len(values) > 1:
        raise FhirError(400, f"Le paramètre {name} ne se donne qu'une fois.", expression=name)
    return (values[0] if values else "").strip()


def _criteria(params, *, by_post: bool) -> dict:
    for key in params:
        name, _, modifier = key.partition(":")
        if name not in PATIENT_PARAMS:
            raise FhirError(400, f"Paramètre de recherche non pris en charge : {name}. "
                                 f"Pris en charge : {', '.join(PATIENT_PARAMS)}.", expression=name)
        if modifier and modifier in PARTIAL:
            raise FhirError(400, "Les noms ne se cherchent pas en partie : ils sont comparés "
                                 "en entier (sans tenir compte des accents ni des majuscules), "
                                 "comme sur l'écran de recherche, pour qu'un compte volé ne "
                                 "puisse pas parcourir le fichier lettre par lettre.",
                            expression=key)
        if modifier and modifier != "exact":
            raise FhirError(400, f"Modificateur non pris en charge : {key}.", expression=key)
    get = {key.partition(":")[0]: _param(params, key) for key in params}
    crit: dict = {}
    identifier = get.get("identifier", "")
    if identifier:
        system, bar, value = identifier.rpartition("|")
        if not bar:
            system, value = "", identifier
        if system == mapping.PATIENT_ID:
            crit["id"] = value
        elif system.startswith(inbound.OID_PREFIX) and system[8:] in mapping.INS_TYPES:
            crit.update(nir=value, ins_oid=system[8:])
        elif not system and value.replace(" ", "").isalnum() and len(value) >= 13:
            crit["nir"] = value
        else:
            raise FhirError(400, "identifier : système non pris en charge (identifiant local "
                                 f"{mapping.PATIENT_ID} ou INS urn:oid:1.2.250.1.213.1.4.8/.9).",
                            expression="identifier")
    if get.get("_id"):
        crit["id"] = get["_id"]
    name = get.get("family") or get.get("phonetic")
    if name:
        crit["name"] = name
    if get.get("given"):
        crit["first_name"] = get["given"]
    birth = get.get("birthdate", "")
    if birth:
        if birth[:2].isalpha() and birth[:2] != "eq":
            raise FhirError(400, "birthdate : seule une date exacte (AAAA-MM-JJ) est acceptée.",
                            expression="birthdate")
        crit["birth_date"] = birth.removeprefix("eq")
    phone = get.get("phone") or get.get("telecom", "")
    if phone:
        system, bar, value = phone.rpartition("|")
        if bar and system not in ("phone", ""):
            raise FhirError(400, "telecom : seule la recherche par téléphone (phone|numéro) est "
                                 "prise en charge.", expression="telecom")
        crit["phone"] = value if bar else phone
    identity = set(crit) - {"id"}
    if identity and not by_post:
        raise FhirError(400, "Recherche par identité (INS, nom, date de naissance, téléphone) : "
                             "utilisez POST /fhir/Patient/_search avec un corps de formulaire, "
                             "pour qu'aucun trait d'identité ne figure dans une adresse "
                             "(journaux des serveurs et des proxys).")
    if "id" in crit and identity:
        raise FhirError(400, "Cherchez soit par identifiant local, soit par identité.")
    if not crit:
        raise FhirError(400, "Précisez un critère : identifier, family (+ given, birthdate), "
                             "phonetic (+ given + birthdate), telecom ou _id.")
    if "phonetic" in get and not ("first_name" in crit and "birth_date" in crit):
        raise FhirError(400, "phonetic se cherche avec given et birthdate (clé phonétique du "
                             "nom et du prénom, et date de naissance).", expression="phonetic")
    return crit


def _run(bearer, crit: dict, offset: int, count: int):
    """(resources, total, outcome) of one page of a patient search."""
    if "id" in crit:
        try:
            resource, _ = _read(bearer, crit["id"])
        except FhirError:
            return [], 0, None
        return ([resource] if offset == 0 else []), 1, None
    kwargs = {k: crit[k] for k in ("nir", "ins_oid", "name", "first_name", "birth_date",
                                   "phone") if k in crit}
    found, total, page = [], 0, offset // PAGE_SIZE + 1
    skip = offset % PAGE_SIZE
    while len(found) < count:
        try:
            result = patients.search(bearer.lab, bearer.user, page=page, purpose=PURPOSE,
                                     **kwargs)
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            text = " ".join(m for ms in messages.values() for m in ms)
            raise FhirError(400, text) from None
        if result.needs_birth_date:
            return [], 0, {"resourceType": "OperationOutcome", "issue": [issue(
                "Trop de dossiers portent ce nom : ajoutez la date de naissance (birthdate).",
                "too-costly", severity="warning")]}
        total = result.total
        found += result.results[skip:]
        skip = 0
        if result.number >= result.pages:
            break
        page += 1
    shown = []
    for summary in found[:count]:
        row, _ = access.patient_row(bearer.lab, summary.id)
        shown.append(_opened(bearer, row))
    outcome = None
    if not shown and "name" in crit:
        outcome = {"resourceType": "OperationOutcome", "issue": [issue(
            "Aucun dossier : les noms sont comparés en entier, jamais par leur début.",
            "not-found", severity="information")]}
    return shown, total, outcome


def search(request, bearer, params, *, by_post: bool):
    if params.get("_cursor"):
        state = paging.open_(bearer, params["_cursor"], "Patient")
        crit, offset, count = state["crit"], state["offset"], state["count"]
    else:
        crit = _criteria(params, by_post=by_post)
        offset, count = 0, paging.count_of(params, limit=PAGE_SIZE)
    shown, total, outcome = _run(bearer, crit, offset, count)
    more = offset + count < total
    next_state = {"crit": crit, "offset": offset + count, "count": count} if more else None
    return fhir_response(paging.bundle(request, "Patient", shown, total=total,
                                       next_state=next_state, bearer=bearer, outcome=outcome))


# --- routes ---------------------------------------------------------------------------

def _not_duplicate(request) -> bool:
    return request.headers.get(NOT_DUPLICATE, "").strip().lower() in ("1", "true", "oui")


def _create(request, bearer):
    resource = inbound.body_of(request, "Patient")
    data, paths = inbound.patient_input(resource)
    data = {k: v for k, v in data.items() if v not in ("", [], None)}
    try:
        created = patients.register_patient(bearer.lab, bearer.user, data,
                                            not_duplicate=_not_duplicate(request))
    except ValidationError as exc:
        raise validation_outcome(exc, paths, "Patient") from None
    except patients.DuplicatePatient as dup:
        ids = ", ".join(f"Patient/{c.id} ({'+'.join(c.reasons)})" for c in dup.candidates)
        raise FhirError(422, f"Doublon probable : {ids}. S'il s'agit d'une autre personne "
                             f"(jumeaux, carte d'un parent), renvoyez la ressource avec "
                             f"l'en-tête {NOT_DUPLICATE}: 1.", code="duplicate") from None
    resource, row = _read(bearer, str(created.id))
    return fhir_response(resource, 201, {
        "Location": request.build_absolute_uri(f"/fhir/Patient/{row.pk}/_history/{row.revision}"),
        "ETag": etag(row.revision)})


@endpoint(GET=Need("Patient", "read", Perm.PATIENT_SEARCH),
          POST=Need("Patient", "write", Perm.PATIENT_WRITE))
def patient_type(request, bearer):
    if request.method == "POST":
        return _create(request, bearer)
    return search(request, bearer, request.GET, by_post=False)


@endpoint(POST=Need("Patient", "read", Perm.PATIENT_SEARCH))
def patient_search(request, bearer):
    return search(request, bearer, search_form(request), by_post=True)


def _update(request, bearer, rid):
    wanted = if_match(request)
    resource = inbound.body_of(request, "Patient")
    if resource.get("id") not in (None, rid):
        raise FhirError(400, "L'id de la ressource ne correspond pas à l'adresse.",
                        expression="Patient.id")
    data, paths = inbound.patient_input(resource)
    changes = {**dict.fromkeys(CLEARABLE, ""), **data}
    with transaction.atomic():
        row, redirected = access.patient_row(bearer.lab, rid)
        if redirected:
            raise FhirError(409, f"Patient/{rid} a été fusionné dans Patient/{row.pk} : "
                                 "modifiez celui-ci.")
        current = str(row.revision)
        version = ((resource.get("meta") or {}).get("versionId")
                   if isinstance(resource.get("meta"), dict) else None)
        if wanted is not None and wanted != current:
            raise FhirError(412, f"Version {wanted} périmée : la version actuelle est "
                                 f"{current}. Relisez la ressource avant de la modifier.")
        if wanted is None and version not in (None, current):
            raise FhirError(409, f"meta.versionId {version} n'est pas la version actuelle "
                                 f"({current}).", expression="Patient.meta.versionId")
        try:
            patients.update_patient(bearer.lab, bearer.user, row.pk, changes, purpose=PURPOSE)
        except ValidationError as exc:
            raise validation_outcome(exc, paths, "Patient") from None
        except patients.PatientError:
            raise FhirError(409, "Modification refusée par le dossier patient.") from None
    resource, row = _read(bearer, rid)
    return fhir_response(resource, 200, {"ETag": etag(row.revision)})


@endpoint(GET=Need("Patient", "read", Perm.PATIENT_READ),
          PUT=Need("Patient", "write", Perm.PATIENT_WRITE))
def patient_instance(request, bearer, rid):
    if request.method == "PUT":
        return _update(request, bearer, rid)
    resource, row = _read(bearer, rid)
    return fhir_response(resource, headers={"ETag": etag(row.revision)})


def _patient_of(kind: str, rid: str, prefixes: tuple[str, ...]) -> tuple[str, str]:
    prefix, _, pid = rid.partition("-")
    if prefix not in prefixes or not pid:
        raise access.not_found(kind, rid)
    return prefix, pid


@endpoint(GET=Need("Practitioner", "read", Perm.PATIENT_READ))
def practitioner_instance(request, bearer, rid):
    _, pid = _patient_of("Practitioner", rid, ("gp",))
    row, redirected = access.patient_row(bearer.lab, pid)
    record = patients.open_patient(bearer.lab, bearer.user, row, redirected,
                                   f"{PURPOSE} : médecin traitant")
    resource = records.practitioner(record)
    if resource is None or resource["id"] != rid:
        raise access.not_found("Practitioner", rid)
    return fhir_response(resource)


@endpoint(GET=Need("Coverage", "read", Perm.PATIENT_READ))
def coverage_instance(request, bearer, rid):
    _, pid = _patient_of("Coverage", rid, ("amo", "amc"))
    row, redirected = access.patient_row(bearer.lab, pid)
    record = patients.open_patient(bearer.lab, bearer.user, row, redirected,
                                   f"{PURPOSE} : couverture")
    found = [c for c in records.coverages(record) if c["id"] == rid]
    if not found:
        raise access.not_found("Coverage", rid)
    return fhir_response(found[0])


@endpoint(GET=Need("Coverage", "read", Perm.PATIENT_READ))
def coverage_type(request, bearer):
    for key in request.GET:
        if key not in ("beneficiary", "patient", "_count", "_format"):
            raise FhirError(400, f"Paramètre de recherche non pris en charge : {key}.",
                            expression=key)
    target = (request.GET.get("beneficiary") or request.GET.get("patient") or "").strip()
    if not target:
        raise FhirError(400, "Précisez beneficiary=Patient/<id>.", expression="beneficiary")
    pid = target.removeprefix("Patient/")
    try:
        row, redirected = access.patient_row(bearer.lab, pid)
    except FhirError:
        found = []
    else:
        record = patients.open_patient(bearer.lab, bearer.user, row, redirected,
                                       f"{PURPOSE} : couverture")
        found = records.coverages(record)
    return fhir_response(paging.bundle(request, "Coverage", found, total=len(found),
                                       next_state=None, bearer=bearer))
