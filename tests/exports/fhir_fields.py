"""Read exported FHIR resources back into profile field names, independently of the writer.

Every element a resource carries must be known here: an element nobody maps
fails the test, so a field cannot leave through an unexpected path.
"""

EXT = "https://etanche.fr/fhir/StructureDefinition/"
STRUCTURAL = {"resourceType", "id", "subject", "beneficiary", "intent", "specimen",
              "generalPractitioner", "status"}


def _ext(resource) -> dict:
    return {e["url"]: e for e in resource.get("extension", [])}


def patient_fields(r) -> set[str]:
    out = {"patient_id" if r["id"].isdigit() else "pseudonym"}
    for key in r:
        assert key in STRUCTURAL | {"identifier", "name", "telecom", "gender", "birthDate",
                                    "address", "extension"}, f"Patient.{key}"
    if "identifier" in r:
        out.add("ins")
        if "system" in r["identifier"][0]:
            out.add("ins_oid")
    for name in r.get("name", []):
        official = name["use"] == "official"
        if "family" in name:
            out.add("birth_name" if official else "used_name")
        if "given" in name:
            out.add("first_names" if official else "used_first_name")
    for t in r.get("telecom", []):
        out.add("phones" if t["system"] == "phone" else "email")
    if "gender" in r:
        out.add("sex")
    if "birthDate" in r:
        out.add("birth_year" if len(r["birthDate"]) == 4 else "birth_date")
    for a in r.get("address", []):
        out |= {{"line": "street", "postalCode": "postal_code", "city": "city"}[k]
                for k in a if k != "use"}
    for url, e in _ext(r).items():
        if url.endswith("patient-birthPlace"):
            if "city" in e["valueAddress"]:
                out.add("birthplace_label")
            if "extension" in e["valueAddress"]:
                out.add("birthplace_code")
        elif url == EXT + "identity-document":
            out |= {{"kind": "id_document_kind", "checked-on": "id_document_checked_on"}[
                x["url"].removeprefix(EXT)] for x in e["extension"]}
        else:
            out.add({"identity-status": "identity_status", "blood-group": "blood_group",
                     "patient-note": "notes"}[url.removeprefix(EXT)])
    return out


def practitioner_fields(r) -> set[str]:
    assert set(r) <= STRUCTURAL | {"identifier", "name"}
    return {f for f, k in (("physician_rpps", "identifier"), ("physician_name", "name")) if k in r}


def coverage_fields(r) -> set[str]:
    assert set(r) <= STRUCTURAL | {"payor", "class", "subscriberId"}
    if r["id"].startswith("amo-"):
        return {"amo_" + c["type"]["coding"][0]["code"] for c in r["class"]}
    out = {"amc_contract"} if "subscriberId" in r else set()
    if r["payor"][0]["display"] != "Organisme complémentaire":
        out.add("amc_insurer")
    return out


def service_request_fields(r) -> set[str]:
    allowed = STRUCTURAL | {"identifier", "requisition", "priority", "code", "authoredOn",
                            "requester", "reasonCode", "note", "extension"}
    assert set(r) <= allowed, set(r) - allowed
    out = set()
    if r["status"] != "unknown":
        out.add("request_status")
    pairs = (("identifier", "request_id"), ("requisition", "request_number"),
             ("priority", "urgent"), ("reasonCode", "clinical_info"), ("note", "request_notes"))
    out |= {f for k, f in pairs if k in r}
    if "authoredOn" in r:
        out.add("request_month" if len(r["authoredOn"]) == 7 else "request_date")
    for coding in r.get("code", {}).get("coding", []):
        out |= {f for k, f in (("code", "test_codes"), ("display", "test_labels")) if k in coding}
    if "text" in r.get("code", {}):
        out.add("test_labels")
    requester = r.get("requester", {})
    out |= {f for k, f in (("display", "prescriber_name"), ("identifier", "prescriber_rpps"))
            if k in requester}
    for url in _ext(r):
        out.add({"prescription-date": "prescription_date", "fasting": "fasting",
                 "preanalytical-answers": "answers"}[url.removeprefix(EXT)])
    return out


def specimen_fields(r) -> set[str]:
    allowed = STRUCTURAL | {"accessionIdentifier", "container", "collection", "receivedTime"}
    assert set(r) <= allowed, set(r) - allowed
    return {f for k, f in (("accessionIdentifier", "specimen_barcode"),
                           ("container", "specimen_container"),
                           ("collection", "specimen_sampled_at"),
                           ("receivedTime", "specimen_received_at")) if k in r}


READERS = {"Patient": patient_fields, "Practitioner": practitioner_fields,
           "Coverage": coverage_fields, "ServiceRequest": service_request_fields,
           "Specimen": specimen_fields}


def fields_of(resources) -> set[str]:
    found = set()
    for r in resources:
        found |= READERS[r["resourceType"]](r)
    return found
