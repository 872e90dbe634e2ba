"""Tokens and clients for the FHIR API tests."""

import json
from datetime import timedelta

from django.test import Client

from etanche.accounts import tokens
from etanche.accounts.models import Membership

FHIR_JSON = "application/fhir+json"
EVERYTHING = ("user/*.* etanche/clinical.read",)


def token_for(user, lab, scopes="user/*.*", days=90) -> str:
    membership = Membership.objects.select_related("lab", "user").get(user=user, lab=lab)
    usable = [s for s in scopes.split() if tokens.role_can_use(membership.role, s)]
    _, secret = tokens.create_token(membership, scopes=" ".join(usable) or scopes,
                                    validity=timedelta(days=days), label="tests")
    return secret


def api(secret: str | None) -> Client:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    return Client(**headers)


def post_json(client, path, body, **headers):
    return client.generic("POST", path, json.dumps(body), content_type=FHIR_JSON, **headers)


def put_json(client, path, body, **headers):
    return client.generic("PUT", path, json.dumps(body), content_type=FHIR_JSON, **headers)


def patient_body(**over) -> dict:
    body = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": "Kerhervé", "given": ["Gwenaëlle", "Marie"]}],
        "gender": "female", "birthDate": "1981-06-14",
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                       "valueAddress": {"extension": [{
                           "url": "https://etanche.fr/fhir/StructureDefinition/insee-code",
                           "valueCode": "35238"}]}}],
        "telecom": [{"system": "phone", "value": "0639980011"}],
    }
    body.update(over)
    return body


def request_body(patient_id, codes=("1104", "1208")) -> dict:
    return {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {"coding": [{"system": "https://etanche.fr/fhir/CodeSystem/nabm", "code": c}
                            for c in codes]},
        "requester": {"display": "Dr Le Gall"},
        "authoredOn": "2026-01-05",
        "extension": [{"url": "https://etanche.fr/fhir/StructureDefinition/preanalytical-answers",
                       "extension": [{"url": "https://etanche.fr/fhir/StructureDefinition/anticoagulant",
                                      "valueString": "aucun"}]}],
        "reasonCode": [{"text": "Bilan de fatigue"}],
    }
