"""What the API answers: searches, paging, versions, the INS rules, clinical scope,
cancellation, and an OperationOutcome with the right status for every failure."""

import json
from datetime import date

import pytest

from etanche.patients.models import Patient
from etanche.synthetic.people import nir_for
from tests.fhir.helpers import (
    FHIR_JSON,
    api,
    patient_body,
    post_json,
    put_json,
    request_body,
    token_for,
)
from tests.orders.helpers import make_order, make_patient

INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"


def _diagnostics(response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return " ".join(i["diagnostics"] for i in body["issue"])


def _created(client, **over):
    response = post_json(client, "/fhir/Patient", patient_body(**over),
                         HTTP_ETANCHE_NOT_DUPLICATE="1")
    assert response.status_code == 201, response.content
    return response.json()


def test_it_finds_by_identifier_and_by_name_and_birth_date_and_pages(bio):
    ids = {_created(bio)["id"] for _ in range(3)}
    by_local = bio.get("/fhir/Patient", {"identifier": f"https://etanche.fr/fhir/NamingSystem/"
                                                       f"patient-id|{min(ids)}"}).json()
    assert [e["resource"]["id"] for e in by_local["entry"]] == [min(ids)]
    page = bio.post("/fhir/Patient/_search", {"family": "KERHERVE", "given": "gwenaelle",
                                              "birthdate": "1981-06-14", "_count": "2"}).json()
    assert page["total"] == 3 and len(page["entry"]) == 2
    following = next(link["url"] for link in page["link"] if link["relation"] == "next")
    assert "Kerherv" not in following and "1981" not in following
    rest = bio.get(following).json()
    seen = {e["resource"]["id"] for e in page["entry"] + rest["entry"]}
    assert seen == ids and not any(link["relation"] == "next" for link in rest["link"])


def test_a_cursor_is_bound_to_its_token_and_cannot_be_forged(world, bio):
    for _ in range(2):
        _created(bio)
    page = bio.post("/fhir/Patient/_search", {"family": "Kerhervé", "birthdate": "1981-06-14",
                                              "_count": "1"}).json()
    following = next(link["url"] for link in page["link"] if link["relation"] == "next")
    other = api(token_for(world.biologist, world.lab_a))
    assert other.get(following).status_code == 400
    assert bio.get(following[:-3] + "AAA").status_code == 400


def test_identity_searches_are_refused_in_a_url(bio):
    for params in ({"family": "Kerhervé"}, {"identifier": f"{INS_NIR}|281063523800145"},
                   {"birthdate": "1981-06-14"}, {"telecom": "phone|0639980011"}):
        response = bio.get("/fhir/Patient", params)
        assert response.status_code == 400 and "POST" in _diagnostics(response), params


def test_partial_names_are_refused_with_the_reason(bio):
    response = bio.post("/fhir/Patient/_search", {"family:contains": "Ker"})
    assert response.status_code == 400 and "en entier" in _diagnostics(response)
    _created(bio)
    empty = bio.post("/fhir/Patient/_search", {"family": "Kerh", "birthdate": "1981-06-14"})
    bundle = empty.json()
    assert bundle["total"] == 0
    assert "en entier" in bundle["entry"][0]["resource"]["issue"][0]["diagnostics"]


def test_it_finds_by_ins_and_phone_and_phonetically(bio):
    nir = nir_for("F", date(1981, 6, 14), "35238", 12)
    created = _created(bio, identifier=[{"system": INS_NIR, "value": nir}])
    found = bio.post("/fhir/Patient/_search", {"identifier": f"{INS_NIR}|{nir}"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [created["id"]]
    found = bio.post("/fhir/Patient/_search", {"telecom": "phone|06 39 98 00 11"}).json()
    assert created["id"] in {e["resource"]["id"] for e in found["entry"]}
    found = bio.post("/fhir/Patient/_search", {"phonetic": "Kerherve", "given": "Gwenaelle",
                                               "birthdate": "1981-06-14"}).json()
    assert created["id"] in {e["resource"]["id"] for e in found["entry"]}


def test_the_ins_goes_out_only_for_a_qualified_identity(world, bio):
    nir = nir_for("F", date(1981, 6, 14), "35238", 7)
    created = _created(bio, identifier=[{"system": INS_NIR, "value": nir}])
    read = bio.get(f"/fhir/Patient/{created['id']}").json()
    assert [i["system"] for i in read["identifier"]] == [
        "https://etanche.fr/fhir/NamingSystem/patient-id"]
    assert nir not in json.dumps(read)
    row = Patient.objects.get(pk=created["id"])
    envelope = row.get_sealed()
    envelope["identity_status"] = "QUAL"  # as INSi and a document check would have made it
    row.set_sealed(envelope)
    row.save()
    read = bio.get(f"/fhir/Patient/{created['id']}").json()
    ins = next(i for i in read["identifier"] if i["system"] == INS_NIR)
    assert ins["value"] == nir and ins["use"] == "official"
    assert ins["type"]["coding"][0]["code"] == "INS-NIR"
    status = next(e for e in read["extension"] if e["url"].endswith("fr-core-identity-reliability"))
    assert status["extension"][0]["valueCoding"]["code"] == "QUAL"


def test_updates_are_versioned(bio):
    created = _created(bio)
    path = f"/fhir/Patient/{created['id']}"
    changed = {**created, "telecom": [{"system": "phone", "value": "0639980012"}]}
    stale = put_json(bio, path, changed, HTTP_IF_MATCH='W/"99"')
    assert stale.status_code == 412
    conflict = put_json(bio, path, {**changed, "meta": {"versionId": "99"}})
    assert conflict.status_code == 409
    done = put_json(bio, path, changed, HTTP_IF_MATCH='W/"1"')
    assert done.status_code == 200 and done["ETag"] == 'W/"2"'
    assert [t["value"] for t in done.json()["telecom"]] == ["+33639980012"]
    assert put_json(bio, path, changed, HTTP_IF_MATCH='W/"1"').status_code == 412


def test_business_rules_are_422_with_the_field_path(bio):
    bad = patient_body(identifier=[{"system": INS_NIR, "value": "281063523800199"}])
    response = post_json(bio, "/fhir/Patient", bad)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Patient.identifier[0].value"]
    first = _created(bio)
    duplicate = post_json(bio, "/fhir/Patient", patient_body())
    assert duplicate.status_code == 422 and first["id"] in _diagnostics(duplicate)
    assert duplicate.json()["issue"][0]["code"] == "duplicate"
    no_birthplace = patient_body(extension=[])
    response = post_json(bio, "/fhir/Patient", no_birthplace)
    assert response.status_code == 422 and "obligatoire" in _diagnostics(response)


@pytest.mark.parametrize(("body", "content_type", "status"), [
    ("{not json", FHIR_JSON, 400),
    ("[]", FHIR_JSON, 400),
    ('{"resourceType": "Observation"}', FHIR_JSON, 400),
    ('{"resourceType": "Patient", "name": "Kerhervé"}', FHIR_JSON, 400),
    ('{"resourceType": "Patient", "name": [{"given": "x"}]}', FHIR_JSON, 400),
    ('{"resourceType": "Patient"}', "text/plain", 415),
    ('{"resourceType": "Patient"}', "application/xml", 415),
])
def test_bad_input_is_a_4xx_outcome(bio, body, content_type, status):
    response = bio.generic("POST", "/fhir/Patient", body, content_type=content_type)
    assert response.status_code == status
    assert _diagnostics(response)


def test_methods_and_paths_not_implemented(bio):
    created = _created(bio)
    response = bio.delete(f"/fhir/Patient/{created['id']}")
    assert response.status_code == 405 and "PUT" in response["Allow"]
    assert bio.get("/fhir/Observation/1").status_code == 404
    assert bio.get("/fhir/Patient/not-a-number").status_code == 404
    assert bio.post("/fhir/Patient/_search", "family=x",
                    content_type="text/plain").status_code == 415


def test_requests_are_created_found_cancelled_and_include_the_patient(world, bio):
    patient = _created(bio)
    created = post_json(bio, "/fhir/ServiceRequest", request_body(patient["id"])).json()
    number = created["identifier"][0]["value"]
    found = bio.get("/fhir/ServiceRequest", {
        "identifier": f"https://etanche.fr/fhir/NamingSystem/request-number|{number}",
        "_include": "ServiceRequest:patient", "status": "active",
        "authored": f"ge{date.today().isoformat()}"}).json()
    modes = sorted(e["search"]["mode"] for e in found["entry"])
    assert modes == ["include", "match"]
    tube = created["specimen"][0]["reference"].removeprefix("Specimen/")
    specimen = bio.get(f"/fhir/Specimen/{tube}").json()
    barcode = specimen["accessionIdentifier"]["value"]
    by_barcode = bio.get("/fhir/Specimen", {"identifier": barcode}).json()
    assert [e["resource"]["id"] for e in by_barcode["entry"]] == [tube]
    path = f"/fhir/ServiceRequest/{created['id']}"
    no_reason = put_json(bio, path, {"resourceType": "ServiceRequest", "status": "revoked"})
    assert no_reason.status_code == 422
    cancelled = put_json(bio, path, {"resourceType": "ServiceRequest", "status": "revoked",
                                     "extension": [{
                                         "url": "https://etanche.fr/fhir/StructureDefinition/"
                                                "cancel-reason", "valueString": "En double"}]})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "revoked"
    other = put_json(bio, path, {"resourceType": "ServiceRequest", "status": "completed"})
    assert other.status_code == 422


def test_clinical_information_needs_its_scope(world):
    patient = make_patient(world.lab_a, world.frontdesk)
    order = make_order(world.lab_a, world.frontdesk, patient, clinical_info="Sous AVK")
    path = f"/fhir/ServiceRequest/{order.pk}"
    with_scope = api(token_for(world.biologist, world.lab_a,
                               "user/ServiceRequest.read etanche/clinical.read"))
    assert with_scope.get(path).json()["reasonCode"] == [{"text": "Sous AVK"}]
    without = api(token_for(world.biologist, world.lab_a, "user/ServiceRequest.read"))
    assert "reasonCode" not in without.get(path).json()
    front = api(token_for(world.frontdesk, world.lab_a, "user/ServiceRequest.read"))
    assert "Sous AVK" not in front.get(path).content.decode()


def test_a_request_for_an_unknown_or_foreign_patient_is_422(world, bio):
    other = make_patient(world.lab_b, world.other_frontdesk)
    response = post_json(bio, "/fhir/ServiceRequest", request_body(other.pk))
    assert response.status_code == 422 and "ServiceRequest.subject" in _diagnostics(response)
    bad = post_json(bio, "/fhir/ServiceRequest", request_body(_created(bio)["id"], ["9999"]))
    assert bad.status_code == 422 and bad.json()["issue"][0]["expression"] == [
        "ServiceRequest.code"]


def test_the_lab_is_an_organization_with_its_finess(world, bio):
    lab = bio.get(f"/fhir/Organization/{world.lab_a.pk}").json()
    assert lab["identifier"][0] == {
        "use": "official", "system": "https://finess.esante.gouv.fr",
        "type": {"coding": [{"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203",
                             "code": "FINEJ"}]}, "value": world.lab_a.finess}
    assert bio.get(f"/fhir/Organization/{world.lab_b.pk}").status_code == 404


def test_metadata_says_what_is_implemented_without_a_token(client):
    statement = client.get("/fhir/metadata").json()
    assert statement["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert types == {"Patient", "Practitioner", "Coverage", "ServiceRequest", "Specimen",
                     "Organization"}
    assert client.get("/fhir/openapi.json").status_code == 401
