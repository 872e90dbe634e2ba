"""FHIR R4 resources as plain dicts: the ONE mapping of Étanche records to FHIR, and the
NDJSON writer of exports (one resource per line; docs/exports.md, "FHIR"; docs/fhir.md).

Exports, the FHIR API (etanche.fhir) and data-subject answers all build their
resources here, from the record dicts of exports/records.py (profile field
names). `exchange=True` (the API) applies the INS rules of FR Core: the INS
(NIR with OID 1.2.250.1.213.1.4.8, NIA .9, test .10, demo .11) goes as an
identifier only when the identity status is QUAL, typed INS-NIR/INS-NIA; the
status itself as the FR Core identity-reliability extension; the record's own
id as a local identifier always. Exports keep the fields their profile names,
as recorded (the status beside them), so a migration loses nothing.

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
PATIENT_ID = "https://etanche.fr/fhir/NamingSystem/patient-id"
# FR Core (Interop'Santé, hl7.fhir.fr.core: FRCorePatientINSProfile, FRCoreOrganizationProfile,
# fr-core-cs-identity-status; docs/fhir.md gives the files and commits read).
FR_RELIABILITY = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
FR_IDENTITY_STATUS = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status"
FR_V2_0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
# OID of an INS number -> (identifier type in FR_V2_0203, Identifier.use)
INS_TYPES = {"1.2.250.1.213.1.4.8": ("INS-NIR", "official"),
             "1.2.250.1.213.1.4.9": ("INS-NIA", "temp"),
             "1.2.250.1.213.1.4.10": ("INS-NIR-TEST", "official"),
             "1.2.250.1.213.1.4.11": ("INS-NIR-DEMO", "official")}
QUALIFIED = "QUAL"
GENDER = {"M": "male", "F": "female"}
STATUS = {"registered": "active", "sampled": "active", "received": "active",
          "cancelled": "revoked", "rejected": "revoked"}


def _ext(name: str, **value) -> dict:
    return {"url": EXT + name, **value}


_DROPPED = (str, list, dict)


def _clean(resource: dict) -> dict:
    """Without the empty elements (None, "", [], {}); False and 0 stay. Written for speed:
    it runs for every element of every resource of an export."""
    return {k: v for k, v in resource.items()
            if v or (v is not None and not isinstance(v, _DROPPED))}


def _ins_identifier(p: dict) -> dict | None:
    """The INS as FR Core carries it: only for a QUAL identity, typed by its OID."""
    if p.get("identity_status") != QUALIFIED or not p.get("ins"):
        return None
    oid = p.get("ins_oid") or "1.2.250.1.213.1.4.8"
    kind, use = INS_TYPES.get(oid, (None, None))
    if kind is None:
        return None
    return {"use": use, "type": {"coding": [{"system": FR_V2_0203, "code": kind}]},
            "system": f"urn:oid:{oid}", "value": p["ins"]}


def patient(p: dict, pid: str, *, exchange: bool = False) -> dict:
    """A Patient from a record's patient fields; `exchange`: the INS rules (module doc)."""
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
    if "identity_status" in p and exchange:
        extensions.append({"url": FR_RELIABILITY, "extension": [
            {"url": "identityStatus", "valueCoding": {"system": FR_IDENTITY_STATUS,
                                                      "code": p["identity_status"]}}]})
    elif "identity_status" in p:
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
    if exchange:
        identifier = [{"use": "usual", "system": PATIENT_ID, "value": pid}]
        if ins := _ins_identifier(p):
            identifier.append(ins)
    elif "ins" in p:
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


def practitioner(p: dict, pid: str) -> dict | None:
    """The attending physician of patient `pid`, as Practitioner gp-<pid>."""
    if "physician_name" not in p and "physician_rpps" not in p:
        return None
    return _clean({
        "resourceType": "Practitioner", "id": f"gp-{pid}",
        "identifier": [{"system": RPPS_OID, "value": p["physician_rpps"]}]
        if "physician_rpps" in p else None,
        "name": [{"text": p["physician_name"]}] if "physician_name" in p else None,
    })


def coverages(p: dict, pid: str) -> list[dict]:
    """AMO (amo-<pid>) and AMC (amc-<pid>) Coverage of patient `pid`."""
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


def specimens(r: dict, rid: str, pid: str, *, exchange: bool = False) -> list[dict]:
    """The Specimens of request `rid`: ids <rid>-s<rank>, or each one's `specimen_id` in
    exchange (the API), which also points each to its ServiceRequest."""
    out = []
    for rank, s in enumerate(r.get("specimens") or [], start=1):
        collection = _clean({"collectedDateTime": s.get("specimen_sampled_at")})
        container = [{"type": {"coding": [{"system": CONTAINER,
                                           "code": s["specimen_container"]}]}}] \
            if "specimen_container" in s else None
        out.append(_clean({
            "resourceType": "Specimen",
            "id": s["specimen_id"] if exchange and "specimen_id" in s else f"{rid}-s{rank}",
            "accessionIdentifier": {"value": s["specimen_barcode"]}
            if "specimen_barcode" in s else None,
            "subject": {"reference": f"Patient/{pid}"},
            "receivedTime": s.get("specimen_received_at"),
            "collection": collection, "container": container,
            "request": [{"reference": f"ServiceRequest/{rid}"}] if exchange else None,
        }))
    return out


def _request_extensions(r: dict) -> list[dict]:
    extensions = []
    if "prescription_date" in r:
        extensions.append(_ext("prescription-date", valueDate=r["prescription_date"]))
    if "fasting" in r:
        extensions.append(_ext("fasting", valueBoolean=r["fasting"]))
    if "answers" in r:
        extensions.append(_ext("preanalytical-answers", extension=[
            _ext(key, **({"valueBoolean": v} if isinstance(v, bool) else {"valueString": str(v)}))
            for key, v in sorted(r["answers"].items()) if v not in (None, "")]))
    return extensions


def _requester(r: dict) -> dict | None:
    return _clean({"display": r.get("prescriber_name"),
                   "identifier": {"system": RPPS_OID, "value": r["prescriber_rpps"]}
                   if "prescriber_rpps" in r else None}) or None


def service_requests(r: dict, rid: str, pid: str, specimens: list[dict]) -> list[dict]:
    """One ServiceRequest per requested test (ids <rid>-t<rank>), grouped by `requisition`:
    the export's form, where each line is one act."""
    extensions = _request_extensions(r)
    requester = _requester(r)
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
            "requester": requester,
            "reasonCode": [{"text": r["clinical_info"]}] if "clinical_info" in r else None,
            "note": [{"text": r["request_notes"]}] if "request_notes" in r else None,
            "specimen": [{"reference": f"Specimen/{s['id']}"} for s in specimens],
        }))
    return out


def service_request(r: dict, rid: str, pid: str, specimens: list[dict], *,
                    lab_id=None) -> dict:
    """The whole request as ONE ServiceRequest (the API's form: what a prescriber's software
    sends and cancels): id `rid`, the request number as identifier and requisition, each
    NABM act a coding of `code`, the lab as performer."""
    codes, labels = r.get("test_codes") or [], r.get("test_labels") or []
    labels = labels if len(labels) == len(codes) else [None] * len(codes)
    number = ({"system": REQUEST_NUMBER, "value": r["request_number"]}
              if "request_number" in r else None)
    return _clean({
        "resourceType": "ServiceRequest", "id": rid, "extension": _request_extensions(r),
        "identifier": [number] if number else None, "requisition": number,
        "status": STATUS.get(r.get("request_status"), "unknown"), "intent": "order",
        "priority": ("urgent" if r["urgent"] else "routine") if "urgent" in r else None,
        "code": _clean({"coding": [_clean({"system": NABM, "code": c, "display": label})
                                   for c, label in zip(codes, labels, strict=True)],
                        "text": ", ".join(x for x in labels if x) or None}) or None,
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": r.get("request_date") or r.get("request_month"),
        "requester": _requester(r),
        "performer": [{"reference": f"Organization/{lab_id}"}] if lab_id is not None else None,
        "reasonCode": [{"text": r["clinical_info"]}] if "clinical_info" in r else None,
        "note": [{"text": r["request_notes"]}] if "request_notes" in r else None,
        "specimen": [{"reference": f"Specimen/{s['id']}"} for s in specimens],
    })


def organization(lab_id, name: str, finess: str) -> dict:
    """The lab (legal entity) with its FINESS, as FR Core's finess identifier slice."""
    return _clean({
        "resourceType": "Organization", "id": str(lab_id), "active": True, "name": name,
        "identifier": [{"use": "official",
                        "type": {"coding": [{"system": FR_V2_0203, "code": "FINEJ"}]},
                        "system": FINESS_SYSTEM, "value": finess}] if finess else None,
    })


def resources(record: dict, profile: Profile) -> list[dict]:
    p = record["patient"]
    pid = p.get("patient_id") or p.get("pseudonym")
    out = [patient(p, pid)]
    if gp := practitioner(p, pid):
        out.append(gp)
    out += coverages(p, pid)
    for rank, r in enumerate(record["requests"], start=1):
        rid = r.get("request_id") or f"{pid}-r{rank}"
        tubes = specimens(r, rid, pid)
        out += service_requests(r, rid, pid, tubes) + tubes
    return out


# One encoder for every line: json.dumps with options builds a new one per call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class NdjsonWriter:
    def __init__(self, profile: Profile):
        self.profile = profile
        assert profile.at(PATIENT), "every profile names at least one patient field"

    def header(self) -> bytes:
        return b""

    def records(self, records: list[dict]) -> bytes:
        encode = _JSON.encode
        lines = [encode(resource)
                 for record in records for resource in resources(record, self.profile)]
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""

    def footer(self) -> bytes:
        return b""
