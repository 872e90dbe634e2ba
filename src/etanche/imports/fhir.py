"""FHIR R4 resources (NDJSON or Bundles, Étanche's migration export included) as import rows.

`patient_rows(rows)` groups each Patient with the Practitioner and Coverage
resources that follow it and refer to it (the order Étanche's export and most
bulk exports write them in; one that comes elsewhere is not attached) and gives
`(row number, input for intake, source id)`. `request_rows(rows)` groups
ServiceRequests by their requisition number: `(row number, request input,
source id)`, the patient linked by the source id of its subject.

Identity status: PROV, or VALI when the source carries the identity-status
extension VALI or QUAL with an identity document (kind and date of the
check): RECUP and QUAL need the INSi teleservice, which an import never reached.
"""

from collections.abc import Iterator

from etanche.tabular.readers import Row

EXT = "https://etanche.fr/fhir/StructureDefinition/"
SEX = {"male": "M", "female": "F"}
AMO_KEYS = {"regime": "amo_regime", "fund": "amo_fund", "centre": "amo_centre"}
STATUS = {"active": "registered", "completed": "received", "revoked": "cancelled",
          "entered-in-error": "cancelled"}


def _ext(resource: dict, name: str) -> dict | None:
    return next((e for e in resource.get("extension") or []
                 if e.get("url") in (EXT + name, name)), None)


def _ref_id(reference: dict | None) -> str:
    text = (reference or {}).get("reference") or ""
    return text.rsplit("/", 1)[-1]


def patient_input(p: dict) -> dict:
    data: dict = {}
    for name in p.get("name") or []:
        if name.get("use") == "usual":
            if name.get("family"):
                data["used_name"] = name["family"]
            if name.get("given"):
                data["used_first_name"] = name["given"][0]
        elif "birth_name" not in data:
            if name.get("family"):
                data["birth_name"] = name["family"]
            if name.get("given"):
                data["first_names"] = list(name["given"])
    if p.get("birthDate"):
        data["birth_date"] = p["birthDate"]
    if p.get("gender") in SEX:
        data["sex"] = SEX[p["gender"]]
    for ext in p.get("extension") or []:
        if ext.get("url", "").endswith("patient-birthPlace"):
            code = _ext(ext.get("valueAddress") or {}, "insee-code")
            if code:
                data["birthplace_code"] = code.get("valueCode", "")
    for ident in p.get("identifier") or []:
        system = ident.get("system") or ""
        if system.startswith("urn:oid:1.2.250.1.213.1.4."):
            data["nir"] = ident.get("value", "")
            data["ins_oid"] = system[len("urn:oid:"):]
    phones = [t["value"] for t in p.get("telecom") or []
              if t.get("system") == "phone" and t.get("value")]
    if phones:
        data["phone"], data["phones"] = phones[0], phones[1:]
    email = next((t["value"] for t in p.get("telecom") or []
                  if t.get("system") == "email" and t.get("value")), None)
    if email:
        data["email"] = email
    for address in (p.get("address") or [])[:1]:
        if address.get("line"):
            data["street"] = " ".join(address["line"])
        if address.get("postalCode"):
            data["postal_code"] = address["postalCode"]
        if address.get("city"):
            data["city"] = address["city"]
    if blood := _ext(p, "blood-group"):
        data["blood_group"] = blood.get("valueString", "")
    if note := _ext(p, "patient-note"):
        data["notes"] = note.get("valueString", "")
    status = (_ext(p, "identity-status") or {}).get("valueCode")
    document = _ext(p, "identity-document")
    if status in ("VALI", "QUAL") and document:
        parts = {e.get("url", "").rsplit("/", 1)[-1]: e for e in document.get("extension") or []}
        kind = (parts.get("kind") or {}).get("valueCode")
        checked = (parts.get("checked-on") or {}).get("valueDate")
        if kind and checked:
            data["identity_status"] = "VALI"
            data["id_document"] = {"kind": kind, "checked_on": checked}
    return data


def _attach(data: dict, resource: dict) -> None:
    kind = resource.get("resourceType")
    if kind == "Practitioner":
        for ident in resource.get("identifier") or []:
            if ident.get("value"):
                data["physician_rpps"] = ident["value"]
        for name in resource.get("name") or []:
            text = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")])
            if text.strip():
                data["physician_name"] = text.strip()
    elif kind == "Coverage":
        classes = resource.get("class") or []
        if classes:
            for item in classes:
                code = next((c.get("code") for c in (item.get("type") or {}).get("coding", [])),
                            None)
                if code in AMO_KEYS and item.get("value"):
                    data[AMO_KEYS[code]] = item["value"]
        else:
            payor = next((p.get("display") for p in resource.get("payor") or []), None)
            if payor:
                data["amc_insurer"] = payor
            if resource.get("subscriberId"):
                data["amc_contract"] = resource["subscriberId"]


def _patient_of(resource: dict) -> str:
    if resource.get("resourceType") == "Coverage":
        return _ref_id(resource.get("beneficiary"))
    if resource.get("resourceType") == "Practitioner":
        rid = resource.get("id") or ""
        return rid[3:] if rid.startswith("gp-") else ""
    return _ref_id(resource.get("subject"))


def patient_rows(rows: Iterator[Row]) -> Iterator[tuple[int, dict, str]]:
    current: tuple[int, dict, str] | None = None
    for row in rows:
        resource = row.record or {}
        if resource.get("resourceType") == "Patient":
            if current:
                yield current
            current = (row.number, patient_input(resource), str(resource.get("id") or ""))
        elif current and _patient_of(resource) == current[2] and current[2]:
            _attach(current[1], resource)
    if current:
        yield current


def request_rows(rows: Iterator[Row]) -> Iterator[tuple[int, dict, str]]:
    """One request per requisition number (its ServiceRequests are adjacent)."""
    current: tuple[int, dict, str] | None = None
    specimens: set[str] = set()
    for row in rows:
        resource = row.record or {}
        if resource.get("resourceType") == "Specimen" and current and \
                resource.get("id") in specimens and current[1]["status"] == "registered":
            # "active" says neither sampled nor received: the request's specimens do.
            if resource.get("receivedTime"):
                current[1]["status"] = "received"
            elif (resource.get("collection") or {}).get("collectedDateTime"):
                current[1]["status"] = "sampled"
            continue
        if resource.get("resourceType") != "ServiceRequest":
            continue
        number = (resource.get("requisition") or {}).get("value") or resource.get("id", "")
        code = next((c.get("code") for c in (resource.get("code") or {}).get("coding", [])
                     if c.get("code")), None)
        specimen_ids = {_ref_id(s) for s in resource.get("specimen") or []}
        if current and current[2] == number:
            if code:
                current[1].setdefault("tests", []).append(code)
            specimens |= specimen_ids
            continue
        specimens = specimen_ids
        if current:
            yield current
        prescription = (_ext(resource, "prescription-date") or {}).get("valueDate")
        requester = resource.get("requester") or {}
        data = {
            "patient_source_id": _ref_id(resource.get("subject")),
            "number": number,
            "date": prescription or (resource.get("authoredOn") or "")[:10],
            "prescriber_name": requester.get("display", ""),
            "prescriber_rpps": (requester.get("identifier") or {}).get("value", ""),
            "tests": [code] if code else [],
            "status": STATUS.get(resource.get("status"), "registered"),
            "urgent": "oui" if resource.get("priority") in ("urgent", "stat", "asap") else "",
            "clinical_info": " ".join(r.get("text", "") for r in resource.get("reasonCode") or []),
            "notes": " ".join(n.get("text", "") for n in resource.get("note") or []),
        }
        answers = _ext(resource, "preanalytical-answers")
        if answers:
            data["answers"] = {
                e.get("url", "").rsplit("/", 1)[-1]: e.get("valueBoolean", e.get("valueString"))
                for e in answers.get("extension") or []}
        fasting = _ext(resource, "fasting")
        if fasting and "valueBoolean" in fasting:
            data["fasting"] = fasting["valueBoolean"]
        current = (row.number, data, number)
    if current:
        yield current
