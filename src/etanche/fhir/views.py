"""The routes that are neither a patient's nor a request's: the CapabilityStatement (the
one route open without a token: it says what is implemented, nothing about anyone),
the OpenAPI description, the lab as Organization, and a 404 OperationOutcome for
every other path under /fhir/."""

import json

from django.http import HttpResponse

from etanche.fhir import access, capability, paging, records
from etanche.fhir.door import Need, endpoint, public
from etanche.fhir.outcome import FhirError, fhir_response


def _base(request) -> str:
    return request.build_absolute_uri("/fhir").removesuffix("/fhir") + "/fhir"


@public
def metadata(request):
    return fhir_response(capability.capability_statement(_base(request)))


@endpoint(GET=Need(None))
def openapi_json(request, bearer):
    document = capability.openapi(request.build_absolute_uri("/").rstrip("/"))
    return HttpResponse(json.dumps(document, ensure_ascii=False), content_type="application/json")


@endpoint(GET=Need("Organization", "read", None))
def organization_instance(request, bearer, rid):
    if access.numeric_id("Organization", rid) != bearer.lab.pk:
        raise access.not_found("Organization", rid)
    return fhir_response(records.organization(bearer.lab))


@endpoint(GET=Need("Organization", "read", None))
def organization_type(request, bearer):
    for key in request.GET:
        if key not in ("_id", "identifier", "_count", "_format"):
            raise FhirError(400, f"Paramètre de recherche non pris en charge : {key}.",
                            expression=key)
    lab = records.organization(bearer.lab)
    wanted_id = request.GET.get("_id")
    wanted_finess = request.GET.get("identifier", "").rpartition("|")[2]
    found = [lab] if ((not wanted_id or wanted_id == lab["id"])
                      and (not wanted_finess or wanted_finess == bearer.lab.finess)) else []
    return fhir_response(paging.bundle(request, "Organization", found, total=len(found),
                                       next_state=None, bearer=bearer))


_ALL = {m: Need(None) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}


@endpoint(**_ALL)
def not_supported(request, bearer, rest=""):
    raise FhirError(404, "Ressource ou opération non prise en charge : voir /fhir/metadata.")
