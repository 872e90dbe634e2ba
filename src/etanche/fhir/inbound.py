"""FHIR resources sent by a client -> the plain values the patients and orders services take.

Structure is checked here (400 with the element's path: a JSON object, the
right resourceType, strings where strings are expected); meaning is checked by
the services (intake, create_order), whose French messages come back as 422 with
the path of the element the field came from (`paths`). Elements Étanche does not
take in are ignored, as a FHIR server may; docs/fhir.md lists those it reads.
"""

import json

from etanche.exports import fhir_ndjson as mapping
from etanche.fhir.outcome import FhirError

MAX_BODY = 256 * 1024
JSON_TYPES = ("application/fhir+json", "application/json")
SEX = {"male": "M", "female": "F"}
URGENT = {"urgent", "asap", "stat"}
OID_PREFIX = "urn:oid:"


def body_of(request, resource_type: str) -> dict:
    """The JSON resource of a POST/PUT: 415 for another media type, 400 if malformed."""
    media = request.content_type or ""
    if media not in JSON_TYPES:
        raise FhirError(415, "Type de contenu non accepté : envoyez application/fhir+json.")
    if len(request.body) > MAX_BODY:
        raise FhirError(413, f"Ressource trop volumineuse (au plus {MAX_BODY // 1024} Kio).")
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise FhirError(400, "Le corps de la requête n'est pas du JSON valide (UTF-8).",
                        code="structure") from None
    if not isinstance(data, dict):
        raise FhirError(400, "Le corps doit être une ressource FHIR (un objet JSON).",
                        code="structure")
    if data.get("resourceType") != resource_type:
        raise FhirError(400, f"resourceType doit valoir « {resource_type} ».",
                        code="structure", expression=f"{resource_type}.resourceType")
    return data


class _Reader:
    """Typed access to a resource's elements, with the path of each for errors."""

    def __init__(self, root: str):
        self.root = root

    def bad(self, path: str, what: str) -> FhirError:
        return FhirError(400, f"{path} : {what}.", code="structure", expression=path)

    def obj(self, value, path) -> dict:
        if not isinstance(value, dict):
            raise self.bad(path, "un objet est attendu")
        return value

    def items(self, value, path) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.bad(path, "une liste est attendue")
        return value

    def text(self, value, path) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.bad(path, "une chaîne de caractères est attendue")
        return value

    def boolean(self, value, path) -> bool:
        if not isinstance(value, bool):
            raise self.bad(path, "un booléen est attendu")
        return value


def _extensions(reader: _Reader, resource: dict, path: str) -> dict[str, tuple[dict, str]]:
    found = {}
    for i, ext in enumerate(reader.items(resource.get("extension"), f"{path}.extension")):
        where = f"{path}.extension[{i}]"
        ext = reader.obj(ext, where)
        found[reader.text(ext.get("url"), f"{where}.url")] = (ext, where)
    return found


def patient_input(resource: dict) -> tuple[dict, dict]:
    """(intake input, {input field: element path}) of a Patient resource."""
    r = _Reader("Patient")
    data, paths = {}, {}
    for i, name in enumerate(r.items(resource.get("name"), "Patient.name")):
        where = f"Patient.name[{i}]"
        name = r.obj(name, where)
        use = r.text(name.get("use"), f"{where}.use") or "official"
        given = [r.text(g, f"{where}.given[{j}]")
                 for j, g in enumerate(r.items(name.get("given"), f"{where}.given"))]
        family = r.text(name.get("family"), f"{where}.family")
        if use == "official" and "birth_name" not in data:
            data["birth_name"], data["first_names"] = family, given
            paths.update(birth_name=f"{where}.family", first_names=f"{where}.given")
        elif use == "usual" and "used_name" not in data:
            data["used_name"], data["used_first_name"] = family, (given or [""])[0]
            paths.update(used_name=f"{where}.family", used_first_name=f"{where}.given")
    gender = r.text(resource.get("gender"), "Patient.gender")
    if gender:
        data["sex"] = SEX.get(gender, gender)
        paths["sex"] = "Patient.gender"
    if "birthDate" in resource:
        data["birth_date"] = r.text(resource.get("birthDate"), "Patient.birthDate")
        paths["birth_date"] = "Patient.birthDate"
    for i, ident in enumerate(r.items(resource.get("identifier"), "Patient.identifier")):
        where = f"Patient.identifier[{i}]"
        ident = r.obj(ident, where)
        system = r.text(ident.get("system"), f"{where}.system")
        oid = system.removeprefix(OID_PREFIX)
        if system.startswith(OID_PREFIX) and oid in mapping.INS_TYPES:
            data["nir"], data["ins_oid"] = r.text(ident.get("value"), f"{where}.value"), oid
            paths.update(nir=f"{where}.value", ins=f"{where}.value", ins_oid=f"{where}.system")
    phones = []
    for i, point in enumerate(r.items(resource.get("telecom"), "Patient.telecom")):
        where = f"Patient.telecom[{i}]"
        point = r.obj(point, where)
        system = r.text(point.get("system"), f"{where}.system")
        value = r.text(point.get("value"), f"{where}.value")
        if system == "phone":
            phones.append(value)
            paths.setdefault("phones", f"{where}.value")
            paths.setdefault("phone", f"{where}.value")
        elif system == "email" and "email" not in data:
            data["email"] = value
            paths["email"] = f"{where}.value"
    data["phones"] = phones
    for i, address in enumerate(r.items(resource.get("address"), "Patient.address")):
        where = f"Patient.address[{i}]"
        address = r.obj(address, where)
        lines = [r.text(x, f"{where}.line[{j}]")
                 for j, x in enumerate(r.items(address.get("line"), f"{where}.line"))]
        data["street"] = " ".join(x for x in lines if x)
        data["postal_code"] = r.text(address.get("postalCode"), f"{where}.postalCode")
        data["city"] = r.text(address.get("city"), f"{where}.city")
        paths.update(street=f"{where}.line", postal_code=f"{where}.postalCode",
                     city=f"{where}.city")
        break
    _patient_extensions(r, resource, data, paths)
    return data, paths


def _patient_extensions(r: _Reader, resource: dict, data: dict, paths: dict) -> None:
    found = _extensions(r, resource, "Patient")
    if mapping.BIRTHPLACE in found:
        ext, where = found[mapping.BIRTHPLACE]
        place = r.obj(ext.get("valueAddress"), f"{where}.valueAddress")
        inners = r.items(place.get("extension"), f"{where}.valueAddress.extension")
        for j, inner in enumerate(inners):
            inner_where = f"{where}.valueAddress.extension[{j}]"
            inner = r.obj(inner, inner_where)
            if inner.get("url") == mapping.EXT + "insee-code":
                data["birthplace_code"] = r.text(inner.get("valueCode"), f"{inner_where}.valueCode")
            elif inner.get("url") == "inseeCode":  # FR Core's form
                coding = r.obj(inner.get("valueCoding"), f"{inner_where}.valueCoding")
                data["birthplace_code"] = r.text(coding.get("code"),
                                                 f"{inner_where}.valueCoding.code")
            paths["birthplace_code"] = inner_where
    if mapping.FR_RELIABILITY in found:
        ext, where = found[mapping.FR_RELIABILITY]
        for j, inner in enumerate(r.items(ext.get("extension"), f"{where}.extension")):
            inner = r.obj(inner, f"{where}.extension[{j}]")
            if inner.get("url") == "identityStatus":
                coding = r.obj(inner.get("valueCoding"), f"{where}.extension[{j}].valueCoding")
                data["identity_status"] = r.text(coding.get("code"),
                                                 f"{where}.extension[{j}].valueCoding.code")
                paths["identity_status"] = f"{where}.extension[{j}]"
    for name, field in (("blood-group", "blood_group"), ("patient-note", "notes")):
        if mapping.EXT + name in found:
            ext, where = found[mapping.EXT + name]
            data[field] = r.text(ext.get("valueString"), f"{where}.valueString")
            paths[field] = where


def service_request_input(resource: dict) -> tuple[str, dict, dict]:
    """(patient id, create_order keywords, {keyword: element path}) of a ServiceRequest."""
    r = _Reader("ServiceRequest")
    paths = {"tests": "ServiceRequest.code", "patient": "ServiceRequest.subject",
             "prescriber_name": "ServiceRequest.requester.display",
             "prescriber_rpps": "ServiceRequest.requester.identifier.value",
             "prescription_date": "ServiceRequest.authoredOn",
             "clinical_info": "ServiceRequest.reasonCode", "notes": "ServiceRequest.note"}
    subject = r.obj(resource.get("subject"), "ServiceRequest.subject")
    reference = r.text(subject.get("reference"), "ServiceRequest.subject.reference")
    if not reference.startswith("Patient/"):
        raise FhirError(422, "ServiceRequest.subject doit désigner un Patient "
                             "(« Patient/<id> »).", expression="ServiceRequest.subject")
    intent = r.text(resource.get("intent"), "ServiceRequest.intent")
    if intent not in ("", "order", "original-order"):
        raise FhirError(422, "Seules les prescriptions (intent « order ») sont acceptées.",
                        expression="ServiceRequest.intent")
    status = r.text(resource.get("status"), "ServiceRequest.status")
    if status not in ("", "active", "draft"):
        raise FhirError(422, "Une nouvelle demande est « active ».",
                        expression="ServiceRequest.status")
    code = r.obj(resource.get("code") or {}, "ServiceRequest.code")
    tests = []
    for i, coding in enumerate(r.items(code.get("coding"), "ServiceRequest.code.coding")):
        where = f"ServiceRequest.code.coding[{i}]"
        coding = r.obj(coding, where)
        system = r.text(coding.get("system"), f"{where}.system")
        if system and system != mapping.NABM:
            raise FhirError(422, f"{where}.system : seuls les actes NABM ({mapping.NABM}) "
                                 "sont acceptés.", expression=f"{where}.system")
        tests.append(r.text(coding.get("code"), f"{where}.code"))
    requester = r.obj(resource.get("requester") or {}, "ServiceRequest.requester")
    rpps = ""
    if requester.get("identifier") is not None:
        ident = r.obj(requester["identifier"], "ServiceRequest.requester.identifier")
        rpps = r.text(ident.get("value"), "ServiceRequest.requester.identifier.value")
    found = _extensions(r, resource, "ServiceRequest")
    prescribed = ""
    if mapping.EXT + "prescription-date" in found:
        ext, where = found[mapping.EXT + "prescription-date"]
        prescribed = r.text(ext.get("valueDate"), f"{where}.valueDate")
        paths["prescription_date"] = where
    elif resource.get("authoredOn") is not None:
        prescribed = r.text(resource.get("authoredOn"), "ServiceRequest.authoredOn")[:10]
    answers = {}
    if mapping.EXT + "preanalytical-answers" in found:
        ext, where = found[mapping.EXT + "preanalytical-answers"]
        for j, inner in enumerate(r.items(ext.get("extension"), f"{where}.extension")):
            inner = r.obj(inner, f"{where}.extension[{j}]")
            key = r.text(inner.get("url"), f"{where}.extension[{j}].url").removeprefix(mapping.EXT)
            answers[key] = inner.get("valueBoolean", inner.get("valueString"))
            paths[f"q_{key}"] = f"{where}.extension[{j}]"
    reasons = [r.text(r.obj(x, f"ServiceRequest.reasonCode[{i}]").get("text"),
                      f"ServiceRequest.reasonCode[{i}].text")
               for i, x in enumerate(r.items(resource.get("reasonCode"),
                                             "ServiceRequest.reasonCode"))]
    notes = [r.text(r.obj(x, f"ServiceRequest.note[{i}]").get("text"),
                    f"ServiceRequest.note[{i}].text")
             for i, x in enumerate(r.items(resource.get("note"), "ServiceRequest.note"))]
    priority = r.text(resource.get("priority"), "ServiceRequest.priority")
    return reference.removeprefix("Patient/"), {
        "tests": tests, "urgent": priority in URGENT,
        "prescriber_name": r.text(requester.get("display"), "ServiceRequest.requester.display"),
        "prescriber_rpps": rpps, "prescription_date": prescribed,
        "clinical_info": "\n".join(x for x in reasons if x), "answers": answers,
        "notes": "\n".join(x for x in notes if x),
    }, paths


def cancellation(resource: dict) -> tuple[str, str]:
    """(status, reason) of a ServiceRequest update: only a cancellation is accepted."""
    r = _Reader("ServiceRequest")
    status = r.text(resource.get("status"), "ServiceRequest.status")
    reason = ""
    found = _extensions(r, resource, "ServiceRequest")
    if mapping.EXT + "cancel-reason" in found:
        ext, where = found[mapping.EXT + "cancel-reason"]
        reason = r.text(ext.get("valueString"), f"{where}.valueString")
    return status, reason
