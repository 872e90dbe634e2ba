"""A standard FHIR client that is not ours (fhirpy) against a real server: with a token a
biologist created, it registers a patient and a request, finds them by identifier and by
name + birth date, and pages a search by following the server's `next` links."""

import pytest
import requests
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import AuthorizationError, ResourceNotFound

from tests.fhir.helpers import patient_body, request_body, token_for

PATIENT_ID = "https://etanche.fr/fhir/NamingSystem/patient-id"
REQUEST_NUMBER = "https://etanche.fr/fhir/NamingSystem/request-number"


@pytest.fixture
def server(transactional_db, world, live_server):
    secret = token_for(world.biologist, world.lab_a, "user/*.* etanche/clinical.read")
    return f"{live_server.url}/fhir", secret


def test_fhirpy_round_trip(server, world):
    base, secret = server
    client = SyncFHIRClient(base, authorization=f"Bearer {secret}")
    patient = client.resource("Patient", **patient_body())
    patient.save()
    assert patient["id"] and patient["meta"]["versionId"] == "1"

    same = client.resources("Patient").search(identifier=f"{PATIENT_ID}|{patient['id']}")
    assert [p["id"] for p in same.fetch()] == [patient["id"]]
    assert client.reference("Patient", patient["id"]).to_resource()["birthDate"] == "1981-06-14"

    numbers = []
    for codes in (("1104",), ("1208",), ("1104", "1208")):
        request = client.resource("ServiceRequest", **request_body(patient["id"], codes))
        request.save()
        numbers.append(request["identifier"][0]["value"])
    found = client.resources("ServiceRequest").search(
        identifier=f"{REQUEST_NUMBER}|{numbers[1]}").fetch()
    assert [r["identifier"][0]["value"] for r in found] == [numbers[1]]

    # Paging: one per page, fhirpy follows each `next` link (opaque cursors).
    pages = client.resources("ServiceRequest").search(patient=patient["id"]).limit(1)
    assert sorted(r["identifier"][0]["value"] for r in pages.fetch_all()) == sorted(numbers)

    # By name and birth date: a form body, so no identity trait is ever in a URL; the
    # Bundle is read back as fhirpy resources.
    answer = requests.post(f"{base}/Patient/_search", timeout=10,
                           headers={"Authorization": f"Bearer {secret}"},
                           data={"family": "Kerhervé", "given": "Gwenaëlle",
                                 "birthdate": "1981-06-14"})
    assert answer.status_code == 200
    matches = [client.resource("Patient", **e["resource"]) for e in answer.json()["entry"]]
    assert [p["id"] for p in matches] == [patient["id"]]

    with pytest.raises(ResourceNotFound):
        client.reference("Patient", "1").to_resource()
    with pytest.raises(AuthorizationError):
        SyncFHIRClient(base, authorization="Bearer etk_nope").reference(
            "Patient", patient["id"]).to_resource()
