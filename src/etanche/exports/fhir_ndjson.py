"""FHIR R4 NDJSON: one resource per line, written as plain dicts (docs/exports.md, "FHIR").

Resources: Patient, Coverage (AMO and AMC), Practitioner (attending
physician), ServiceRequest (one per requested test, grouped by the request
number in `requisition`) and Specimen. Each element comes from exactly one
profile field; a field outside the profile is absent from the record, so its
element is absent too. Values FHIR R4 has no element for (identity status,
identity document, blood group, notes, pre-analytical answers, fasting,
prescription date, INSEE birthplace code) go in extensions under EXT.
"""

import json

from etanche.exports.profiles import PATIENT, Profile

EXT = "https://etanche.fr/fhir/StructureDefinition/"
BIRTHPLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
INSEE_COG = "https://etanche.fr/fhir/NamingSystem/insee-cog"
RPPS_OID = "urn:oid:1.2.250.1.71.4.2.1"
REQUEST_NUMBER = "https://etanche.fr/fhir/NamingSystem/request-number"
NABM = "https://etanche.fr/fhir/CodeSystem/nabm"
CONTAINER = "https://etanche.fr/fhir/CodeSystem/container"
AMO_CLASS = "https://etanche.fr/fhir/CodeSystem/amo-class"
GENDER = {"M": "male", "F": "female"}
STATUS = {"registered": "active", "sampled": "active", "received": "active",
          "cancelled": "revoked", "rejected": "revoked"}


def _ext(name: str, **value) -> dict:
    return {"url": EXT + name, **value}


def _clean(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if v not in (None, [], {}, "")}


def _patient(p: dict, pid: str) -> dict:
    names = []
    if "birth_name" in p or "first_names" in p:
        names.append(_clean({"use": "official", "family": p.get("birth_name"),
                             "given": p.get("first_names")}))
    if "used_name" in p or "used_first_name" in p:
        names.append(_clean({"use": "usual", "family": p.get("used_name"),
                             "given": [p["used_first_name"]] if "used_first_name" in p else None}))
    telecom = [{"system": "phone", "value": v} for v in p.get("phones", [])]
    if "email" in p:
        telecom.append({"system": "email", "value": p["email"]})
    address = _clean({"use": "home", "line": [p["street"]] if "street" in p else None,
                      "postalCode": p.get("postal_code"), "city": p.get("city")})
    extensions = []
    if "birthplace_code" in p or "birthplace_label" in p:
        place = _clean({"city": p.get("birthplace_label")})
        if "birthplace_code" in p:
            place["extension"] = [_ext("insee-code", valueCode=p["birthplace_code"])]
        extensions.append({"url": BIRTHPLACE, "valueAddress": place})
    if "identity_status" in p:
        extensions.append(_ext("identity-status", valueCode=p["identity_status"]))
    document = [e for e in (
        _ext("kind", valueCode=p["id_document_kind"]) if "id_document_kind" in p else None,
        _ext("checked-on", valueDate=p["id_document_checked_on"])
        if "id_document_checked_on" in p else None) if e]
    if document:
        extensions.append(_ext("identity-document", extension=document))
    if "blood_group" in p:
        extensions.append(_ext("blood-group", valueString=p["blood_group"]))
    if "notes" in p:
        extensions.append(_ext("patient-note", valueString=p["notes"]))
    identifier = None
    if "ins" in p:
        identifier = [_clean({"system": f"urn:oid:{p['ins_oid']}" if "ins_oid" in p else None,
                              "value": p["ins"]})]
    birth = p.get("birth_date") or (str(p["birth_year"]) if "birth_year" in p else None)
    return _clean({
        "resourceType": "Patient", "id": pid, "extension": extensions, "identifier": identifier,
        "name": names, "telecom": telecom, "gender": GENDER.get(p.get("sex")),
        "birthDate": birth, "address": [address] if len(address) > 1 else None,
        "generalPractitioner": [{"reference": f"Practitioner/gp-{pid}"}]
        if "physician_name" in p or "physician_rpps" in p else None,
    })


def _practitioner(p: dict, pid: str) -> dict | None:
    if "physician_name" not in p and "physician_rpps" not in p:
        return None
    return _clean({
        "resourceType": "Practitioner", "id": f"gp-{pid}",
        "identifier": [{"system": RPPS_OID, "value": p["physician_rpps"]}]
        if "physician_rpps" in p else None,
        "name": [{"text": p["physician_name"]}] if "physician_name" in p else None,
    })


def _coverages(p: dict, pid: str) -> list[dict]:
    out = []
    amo = [(key, p[key]) for key in ("amo_regime", "amo_fund", "amo_centre") if key in p]
    if amo:
        out.append({
            "resourceType": "Coverage", "id": f"amo-{pid}", "status": "active",
            "beneficiary": {"reference": f"Patient/{pid}"},
            "payor": [{"display": "Assurance maladie obligatoire"}],
            "class": [{"type": {"coding": [{"system": AMO_CLASS, "code": key[4:]}]},
                       "value": value} for key, value in amo],
        })
    if "amc_insurer" in p or "amc_contract" in p:
        out.append(_clean({
            "resourceType": "Coverage", "id": f"amc-{pid}", "status": "active",
            "beneficiary": {"reference": f"Patient/{pid}"},
            "subscriberId": p.get("amc_contract"),
            "payor": [{"display": p.get("amc_insurer", "Organisme complémentaire")}],
        }))
    return out


def _specimens(r: dict, rid: str, pid: str) -> list[dict]:
    out = []
    for rank, s in enumerate(r.get("specimens") or [], start=1):
        collection = _clean({"collectedDateTime": s.get("specimen_sampled_at")})
        container = [{"type": {"coding": [{"system": CONTAINER,
                                           "code": s["specimen_container"]}]}}] \
            if "specimen_container" in s else None
        out.append(_clean({
            "resourceType": "Specimen", "id": f"{rid}-s{rank}",
            "accessionIdentifier": {"value": s["specimen_barcode"]}
            if "specimen_barcode" in s else None,
            "subject": {"reference": f"Patient/{pid}"},
            "receivedTime": s.get("specimen_received_at"),
            "collection": collection, "container": container,
        }))
    return out


def _service_requests(r: dict, rid: str, pid: str, specimens: list[dict]) -> list[dict]:
    extensions = []
    if "prescription_date" in r:
        extensions.append(_ext("prescription-date", valueDate=r["prescription_date"]))
    if "fasting" in r:
        extensions.append(_ext("fasting", valueBoolean=r["fasting"]))
    if "answers" in r:
        extensions.append(_ext("preanalytical-answers", extension=[
            _ext(key, **({"valueBoolean": v} if isinstance(v, bool) else {"valueString": str(v)}))
            for key, v in sorted(r["answers"].items()) if v not in (None, "")]))
    requester = _clean({"display": r.get("prescriber_name"),
                        "identifier": {"system": RPPS_OID, "value": r["prescriber_rpps"]}
                        if "prescriber_rpps" in r else None})
    codes, labels = r.get("test_codes") or [], r.get("test_labels") or []
    tests = list(zip(codes, labels, strict=True)) if codes and labels else (
        [(c, None) for c in codes] or [(None, label) for label in labels] or [(None, None)])
    out = []
    for rank, (code, label) in enumerate(tests, start=1):
        concept = _clean({"coding": [_clean({"system": NABM, "code": code, "display": label})]
                          if code else None, "text": label if not code else None})
        out.append(_clean({
            "resourceType": "ServiceRequest", "id": f"{rid}-t{rank}", "extension": extensions,
            "identifier": [{"system": EXT + "request-id", "value": r["request_id"]}]
            if "request_id" in r else None,
            "requisition": {"system": REQUEST_NUMBER, "value": r["request_number"]}
            if "request_number" in r else None,
            "status": STATUS.get(r.get("request_status"), "unknown"), "intent": "order",
            "priority": ("urgent" if r["urgent"] else "routine") if "urgent" in r else None,
            "code": concept, "subject": {"reference": f"Patient/{pid}"},
            "authoredOn": r.get("request_date") or r.get("request_month"),
            "requester": requester or None,
            "reasonCode": [{"text": r["clinical_info"]}] if "clinical_info" in r else None,
            "note": [{"text": r["request_notes"]}] if "request_notes" in r else None,
            "specimen": [{"reference": f"Specimen/{s['id']}"} for s in specimens],
        }))
    return out


def resources(record: dict, profile: Profile) -> list[dict]:
    p = record["patient"]
    pid = p.get("patient_id") or p.get("pseudonym")
    out = [_patient(p, pid)]
    if practitioner := _practitioner(p, pid):
        out.append(practitioner)
    out += _coverages(p, pid)
    for rank, r in enumerate(record["requests"], start=1):
        rid = r.get("request_id") or f"{pid}-r{rank}"
        specimens = _specimens(r, rid, pid)
        out += _service_requests(r, rid, pid, specimens) + specimens
    return out


class NdjsonWriter:
    def __init__(self, profile: Profile):
        self.profile = profile
        assert profile.at(PATIENT), "every profile names at least one patient field"

    def header(self) -> bytes:
        return b""

    def records(self, records: list[dict]) -> bytes:
        lines = [json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
                 for record in records for resource in resources(record, self.profile)]
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""

    def footer(self) -> bytes:
        return b""
