"""Official FHIR examples (tests/fhir/data/SOURCES.md) are accepted or refused with a 4xx
OperationOutcome that says why, never a server error, and nothing is half-written."""

import json
from pathlib import Path

from etanche.orders.models import Order
from etanche.patients.models import Patient
from tests.fhir.helpers import post_json

DATA = Path(__file__).parent / "data"


def _example(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_the_r4_patient_example_is_refused_for_its_missing_ins_traits(bio):
    before = Patient.objects.count()
    response = post_json(bio, "/fhir/Patient", _example("r4-patient-example.json"))
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    # Peter Chalmers has no birthplace: an INS trait Étanche requires (INSEE code).
    assert any("obligatoire" in i["diagnostics"] for i in outcome["issue"])
    assert Patient.objects.count() == before


def test_the_r4_patient_example_with_a_birthplace_is_accepted(bio):
    example = _example("r4-patient-example.json")
    example["extension"] = [{
        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
        "valueAddress": {"extension": [{
            "url": "https://etanche.fr/fhir/StructureDefinition/insee-code",
            "valueCode": "99501"}]}}]  # born abroad: Australia (INSEE country code)
    response = post_json(bio, "/fhir/Patient", example)
    # Its address is Australian: a French postcode has 5 digits, and the path says where.
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Patient.address[0].postalCode"]
    del example["address"]
    response = post_json(bio, "/fhir/Patient", example)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["id"] != "example" and created["gender"] == "male"
    assert created["birthDate"] == "1974-12-25"
    assert created["name"][0]["family"] == "CHALMERS"  # stored in the INS writing (capitals)


def test_the_servicerequest_example_is_refused_with_the_reason(bio):
    before = Order.objects.count()
    response = post_json(bio, "/fhir/ServiceRequest", _example("r4b-servicerequest-example4.json"))
    assert response.status_code == 422
    assert "intent" in response.json()["issue"][0]["expression"][0]
    assert Order.objects.count() == before
