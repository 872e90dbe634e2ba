import json

from tests.fhir.helpers import api, patient_body, post_json, request_body, token_for


def test_it_creates_reads_and_searches(world):
    client = api(token_for(world.biologist, world.lab_a, "user/*.* etanche/clinical.read"))
    created = post_json(client, "/fhir/Patient", patient_body())
    assert created.status_code == 201, created.content
    patient = created.json()
    print(json.dumps(patient, indent=1, ensure_ascii=False))
    read = client.get(f"/fhir/Patient/{patient['id']}")
    assert read.status_code == 200
    sr = post_json(client, "/fhir/ServiceRequest", request_body(patient["id"]))
    assert sr.status_code == 201, sr.content
    print(json.dumps(sr.json(), indent=1, ensure_ascii=False))
    found = client.post("/fhir/Patient/_search", {"family": "Kerhervé", "given": "Gwenaëlle",
                                                  "birthdate": "1981-06-14"})
    assert found.status_code == 200, found.content
    assert found.json()["total"] == 1
    listing = client.get(f"/fhir/ServiceRequest?patient={patient['id']}"
                         "&_include=ServiceRequest:patient")
    assert listing.status_code == 200, listing.content
    print(json.dumps(listing.json(), indent=1, ensure_ascii=False)[:3000])
    assert client.get("/fhir/metadata").status_code == 200
    assert client.get("/fhir/openapi.json").status_code == 200
