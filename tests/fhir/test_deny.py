"""Deny by default, route by route: no token, a bad, expired, revoked or locked one,
another lab's object, and every scope but the one a route needs are all refused."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from etanche.accounts import tokens
from etanche.fhir import urls as fhir_urls
from tests.fhir.helpers import api, patient_body, post_json, put_json, request_body, token_for
from tests.orders.helpers import make_order, make_patient

SCOPES = ["user/Patient.read", "user/Patient.write", "user/Practitioner.read",
          "user/Coverage.read", "user/ServiceRequest.read", "user/ServiceRequest.write",
          "user/Specimen.read", "user/Organization.read"]


def _objects(world, lab):
    front = world.in_lab_a["frontdesk"] if lab == world.lab_a else world.other_frontdesk
    patient = make_patient(lab, front, physician_name="Dr Le Gall", amo_regime="01",
                           amo_fund="351", amo_centre="0001")
    order = make_order(lab, front, patient)
    return {"patient": str(patient.pk), "order": str(order.pk), "lab": str(lab.pk),
            "specimen": str(order.specimens.first().pk)}


# (URL name, method, kwargs from the objects, scope needed, body)
def _routes(o):
    return [
        ("fhir_openapi", "GET", {}, None, None),
        ("fhir_patient_type", "GET", {}, "user/Patient.read", {"_id": o["patient"]}),
        ("fhir_patient_type", "POST", {}, "user/Patient.write", patient_body()),
        ("fhir_patient_search", "POST", {}, "user/Patient.read", {"_id": o["patient"]}),
        ("fhir_patient", "GET", {"rid": o["patient"]}, "user/Patient.read", None),
        ("fhir_patient", "PUT", {"rid": o["patient"]}, "user/Patient.write",
         patient_body(id=o["patient"])),
        ("fhir_practitioner", "GET", {"rid": f"gp-{o['patient']}"}, "user/Practitioner.read",
         None),
        ("fhir_coverage_type", "GET", {}, "user/Coverage.read",
         {"beneficiary": f"Patient/{o['patient']}"}),
        ("fhir_coverage", "GET", {"rid": f"amo-{o['patient']}"}, "user/Coverage.read", None),
        ("fhir_service_request_type", "GET", {}, "user/ServiceRequest.read",
         {"patient": o["patient"]}),
        ("fhir_service_request_type", "POST", {}, "user/ServiceRequest.write",
         request_body(o["patient"])),
        ("fhir_service_request_search", "POST", {}, "user/ServiceRequest.read",
         {"patient": o["patient"]}),
        ("fhir_service_request", "GET", {"rid": o["order"]}, "user/ServiceRequest.read", None),
        ("fhir_service_request", "PUT", {"rid": o["order"]}, "user/ServiceRequest.write",
         {"resourceType": "ServiceRequest", "status": "active"}),
        ("fhir_specimen_type", "GET", {}, "user/Specimen.read", {"request": o["order"]}),
        ("fhir_specimen_search", "POST", {}, "user/Specimen.read", {"request": o["order"]}),
        ("fhir_specimen", "GET", {"rid": o["specimen"]}, "user/Specimen.read", None),
        ("fhir_organization_type", "GET", {}, "user/Organization.read", None),
        ("fhir_organization", "GET", {"rid": o["lab"]}, "user/Organization.read", None),
        ("fhir_root", "GET", {}, None, None),
        ("fhir_not_supported", "GET", {"rest": "Observation/1"}, None, None),
    ]


def _call(client, name, method, kwargs, body):
    path = reverse(name, kwargs=kwargs)
    if method == "GET":
        return client.get(path, body or {})
    if name.endswith("_search"):
        return client.post(path, body or {})
    return (post_json if method == "POST" else put_json)(client, path, body or {})


def test_the_walk_covers_every_route():
    walked = {name for name, *_ in _routes({k: "1" for k in ("patient", "order", "lab",
                                                               "specimen")})}
    declared = {p.name for p in fhir_urls.urlpatterns} - {"fhir_metadata"}
    assert walked == declared


@pytest.fixture
def objects(world):
    return {"a": _objects(world, world.lab_a), "b": _objects(world, world.lab_b)}


def _refusals(world):
    expired = token_for(world.biologist, world.lab_a)
    tokens.ApiToken.objects.filter(pk=tokens.ApiToken.objects.latest("pk").pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    revoked = token_for(world.biologist, world.lab_a)
    tokens.ApiToken.objects.filter(pk=tokens.ApiToken.objects.latest("pk").pk).update(
        revoked_at=timezone.now())
    locked = token_for(world.biologist, world.lab_a)
    tokens.ApiToken.objects.filter(pk=tokens.ApiToken.objects.latest("pk").pk).update(
        locked_at=timezone.now())
    return {"no token": Client(), "bad token": api("etk_" + "A" * 43),
            "not a bearer": Client(HTTP_AUTHORIZATION="Basic c29waGllOngK"),
            "expired": api(expired), "revoked": api(revoked), "locked": api(locked)}


def test_every_route_refuses_without_a_valid_token(world, objects):
    refusals = _refusals(world)
    for name, method, kwargs, _, body in _routes(objects["a"]):
        for who, client in refusals.items():
            response = _call(client, name, method, kwargs, body)
            assert response.status_code == 401, (name, method, who)
            assert response["Content-Type"].startswith("application/fhir+json")
            assert response.json()["resourceType"] == "OperationOutcome"
            assert response["WWW-Authenticate"].startswith("Bearer")


def test_another_labs_objects_are_404(world, objects):
    client = api(token_for(world.in_lab_b["biologist"], world.lab_b, "user/*.*"))
    for name, method, kwargs, _, body in _routes(objects["a"]):
        if not kwargs or name == "fhir_not_supported":
            continue
        response = _call(client, name, method, kwargs, body)
        assert response.status_code == 404, (name, method)
    # Searches across labs find nothing either.
    for name, method, kwargs, _, body in _routes(objects["a"]):
        if name.endswith(("_type", "_search")) and method == "GET" or name.endswith("_search"):
            response = _call(client, name, method, kwargs, body)
            if response.status_code == 200:
                bundle = response.json()
                ids = {e["resource"]["id"] for e in bundle.get("entry", [])}
                assert not ids & set(objects["a"].values()) - {objects["a"]["lab"]}, name


def test_each_route_needs_its_scope(world, objects):
    for scope in SCOPES:
        client = api(token_for(world.biologist, world.lab_a, scope))
        for name, method, kwargs, needed, body in _routes(objects["a"]):
            if needed is None:
                continue
            response = _call(client, name, method, kwargs, body)
            if needed == scope:
                assert response.status_code < 500 and response.status_code != 403, (
                    scope, name, method, response.content)
            else:
                assert response.status_code in (403, 401), (scope, name, method)


def test_roles_without_the_permission_are_refused_whatever_the_scopes(world, objects):
    # The lab admin and the auditor read no patient: their tokens can hold no patient scope,
    # and a DPO token reads but never writes.
    client = api(token_for(world.dpo, world.lab_a, "user/*.*"))
    for name, method, kwargs, needed, body in _routes(objects["a"]):
        if needed and needed.endswith(".write"):
            assert _call(client, name, method, kwargs, body).status_code == 403, name
    client = api(token_for(world.auditor, world.lab_a, "user/Organization.read"))
    for name, method, kwargs, needed, body in _routes(objects["a"]):
        if needed and needed != "user/Organization.read":
            assert _call(client, name, method, kwargs, body).status_code in (401, 403), name
