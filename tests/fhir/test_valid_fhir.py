"""Every resource the API produces is valid FHIR, checked by fhir.resources (not ours).

fhir.resources 8 defaults to R5; its R4B models are used, as in tests/exports: for the
resources served here R4B equals R4 4.0.1 (R4B changed medication and evidence resources).
"""

from fhir.resources.R4B import get_fhir_model_class

from tests.fhir.helpers import api, patient_body, post_json, request_body, token_for
from tests.orders.helpers import make_patient


def _valid(resource: dict):
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        _valid(entry["resource"])


def test_every_resource_produced_is_valid_r4(world, bio):
    patient = make_patient(world.lab_a, world.frontdesk, physician_name="Dr Le Gall",
                           physician_rpps="10003000000", amo_regime="01", amo_fund="351",
                           amo_centre="0001", amc_insurer="Mutuelle", amc_contract="A1",
                           street="1 rue de la Paix", postal_code="35000", city="Rennes",
                           email="kergoat@example.invalid", blood_group="A+")
    created = post_json(bio, "/fhir/Patient", patient_body()).json()
    order = post_json(bio, "/fhir/ServiceRequest", request_body(created["id"])).json()
    tube = order["specimen"][0]["reference"]
    produced = [
        bio.get(f"/fhir/Patient/{patient.pk}"), bio.get(f"/fhir/Practitioner/gp-{patient.pk}"),
        bio.get(f"/fhir/Coverage/amo-{patient.pk}"), bio.get(f"/fhir/Coverage/amc-{patient.pk}"),
        bio.get("/fhir/Coverage", {"beneficiary": f"Patient/{patient.pk}"}),
        bio.get(f"/fhir/ServiceRequest/{order['id']}"), bio.get(f"/fhir/{tube}"),
        bio.get(f"/fhir/ServiceRequest?patient={created['id']}&_include=ServiceRequest:patient"),
        bio.post("/fhir/Patient/_search", {"family": "Kerhervé", "birthdate": "1981-06-14"}),
        bio.post("/fhir/Patient/_search", {"family": "Nobody", "birthdate": "1981-06-14"}),
        bio.get(f"/fhir/Organization/{world.lab_a.pk}"), bio.get("/fhir/Organization"),
        bio.get("/fhir/metadata"),
        # and failures
        bio.get("/fhir/Patient/1"), bio.get("/fhir/Observation"),
        post_json(bio, "/fhir/Patient", {"resourceType": "Patient"}),
        api(None).get("/fhir/Patient/1"),
        api(token_for(world.labadmin, world.lab_a, "user/Organization.read")).get(
            "/fhir/Patient/1"),
    ]
    assert [r.status_code for r in produced][:13] == [200] * 13
    assert [r.status_code for r in produced][13:] == [404, 404, 422, 401, 403]
    for response in produced:
        assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
        _valid(response.json())
