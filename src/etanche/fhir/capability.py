"""What the API implements, said once: the CapabilityStatement and the OpenAPI 3 document
are both written from RESOURCES, so neither can claim a route the other does not.
tests/fhir/test_capability.py checks RESOURCES against the URL patterns.
"""

from etanche.accounts import tokens
from etanche.exports import fhir_ndjson as mapping

FHIR_VERSION = "4.0.1"
RELEASED = "2026-12-01T00:00:00Z"

# resource -> (interactions, [(search parameter, type, documentation)])
RESOURCES = {
    "Patient": (("read", "search-type", "create", "update"), [
        ("_id", "token", "identifiant du dossier"),
        ("identifier", "token", f"{mapping.PATIENT_ID}|<id> (GET) ; INS "
                                "urn:oid:1.2.250.1.213.1.4.8|<NIR> ou .9|<NIA> (POST _search)"),
        ("family", "string", "nom de naissance ou d'usage, en entier (POST _search)"),
        ("given", "string", "prénom, en entier (POST _search)"),
        ("birthdate", "date", "date de naissance exacte (POST _search)"),
        ("phonetic", "string", "nom comparé par sa clé phonétique, avec given et birthdate "
                               "(POST _search)"),
        ("telecom", "token", "phone|<numéro> (POST _search)"),
    ]),
    "Practitioner": (("read",), []),
    "Coverage": (("read", "search-type"), [
        ("beneficiary", "reference", "Patient/<id>"),
        ("patient", "reference", "Patient/<id>"),
    ]),
    "ServiceRequest": (("read", "search-type", "create", "update"), [
        ("patient", "reference", "Patient/<id>"),
        ("subject", "reference", "Patient/<id>"),
        ("identifier", "token", f"{mapping.REQUEST_NUMBER}|<numéro de demande>"),
        ("status", "token", "active, revoked"),
        ("authored", "date", "date de la demande, préfixes eq ge le gt lt"),
    ]),
    "Specimen": (("read", "search-type"), [
        ("identifier", "token", "code-barres du tube"),
        ("request", "reference", "ServiceRequest/<id>"),
    ]),
    "Organization": (("read", "search-type"), []),
}
SEARCH_POST = ("Patient", "ServiceRequest", "Specimen")
SECURITY = ("Jeton personnel d'API (Authorization: Bearer etk_...), créé par une personne "
            "nommée, lié à son rôle dans un laboratoire, à portées SMART "
            "(patient/<Ressource>.read|write, user/..., " + tokens.CLINICAL + "), expirant, "
            "révocable. Ni session ni cookie.")


def capability_statement(base: str) -> dict:
    rest = []
    for name, (interactions, params) in RESOURCES.items():
        entry = {"type": name, "interaction": [{"code": code} for code in interactions],
                 "versioning": "versioned-update" if "update" in interactions else "no-version",
                 "readHistory": False, "updateCreate": False, "conditionalCreate": False,
                 "conditionalUpdate": False, "conditionalDelete": "not-supported"}
        if params:
            entry["searchParam"] = [{"name": p, "type": t, "documentation": d}
                                    for p, t, d in params]
        if name == "ServiceRequest":
            entry["searchInclude"] = ["ServiceRequest:patient"]
        rest.append(entry)
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": RELEASED,
        "publisher": "Étanche", "kind": "instance", "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json"],
        "software": {"name": "Étanche"},
        "implementation": {"description": "API FHIR R4 du laboratoire (docs/fhir.md)",
                           "url": base},
        "rest": [{"mode": "server",
                  "security": {"cors": False, "description": SECURITY},
                  "resource": rest}],
    }


# --- OpenAPI 3 -------------------------------------------------------------------------

_RESOURCE = {"type": "object", "required": ["resourceType"],
             "properties": {"resourceType": {"type": "string"}}}
_JSON = "application/fhir+json"


_REF = "#/components/schemas/"


def _responses(ok: str, kind: str) -> dict:
    return {ok: {"description": kind, "content": {_JSON: {"schema": {"$ref": _REF + "Resource"}}}},
            "default": {"description": "OperationOutcome (erreur, diagnostics en français)",
                        "content": {_JSON: {"schema": {"$ref": _REF + "OperationOutcome"}}}}}


def _query(params) -> list[dict]:
    out = [{"name": p, "in": "query", "required": False, "schema": {"type": "string"},
            "description": d} for p, _, d in params]
    return out + [{"name": "_count", "in": "query", "required": False,
                   "schema": {"type": "string"}},
                  {"name": "_cursor", "in": "query", "required": False,
                   "schema": {"type": "string"}}]


def _body(description: str) -> dict:
    return {"required": True, "description": description,
            "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Resource"}}}}


def _form(params) -> dict:
    properties = {p: {"type": "string"} for p, _, _ in params}
    properties.update({"_count": {"type": "string"}})
    return {"required": True, "content": {"application/x-www-form-urlencoded": {
        "schema": {"type": "object", "properties": properties}}}}


def openapi(base: str) -> dict:
    paths = {}
    identity_get = {"family", "given", "birthdate", "phonetic", "telecom"}
    for name, (interactions, params) in RESOURCES.items():
        rid = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
        item = {}
        if "search-type" in interactions:
            on_get = [p for p in params if not (name == "Patient" and p[0] in identity_get)]
            item["get"] = {"summary": f"Rechercher {name}", "parameters": _query(on_get),
                           "responses": _responses("200", "Bundle searchset")}
        if "create" in interactions:
            item["post"] = {"summary": f"Créer {name}", "requestBody": _body(name),
                            "responses": _responses("201", name)}
        if item:
            paths[f"/fhir/{name}"] = item
        instance = {"get": {"summary": f"Lire {name}", "parameters": rid,
                            "responses": _responses("200", name)}}
        if "update" in interactions:
            instance["put"] = {
                "summary": f"Modifier {name}" if name == "Patient" else "Annuler la demande",
                "parameters": [*rid, {"name": "If-Match", "in": "header", "required": False,
                                      "schema": {"type": "string"}}],
                "requestBody": _body(name), "responses": _responses("200", name)}
        paths[f"/fhir/{name}/{{id}}"] = instance
        if name in SEARCH_POST:
            paths[f"/fhir/{name}/_search"] = {"post": {
                "summary": f"Rechercher {name} (critères dans le corps)",
                "requestBody": _form(params), "responses": _responses("200", "Bundle searchset")}}
    paths["/fhir/metadata"] = {"get": {"summary": "CapabilityStatement", "security": [],
                                       "responses": _responses("200", "CapabilityStatement")}}
    paths["/fhir/openapi.json"] = {"get": {"summary": "Cette description", "responses": {
        "200": {"description": "OpenAPI 3",
                "content": {"application/json": {"schema": {"type": "object"}}}},
        "default": _responses("200", "")["default"]}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Étanche FHIR R4", "version": FHIR_VERSION,
                 "description": SECURITY},
        "servers": [{"url": base}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Resource": _RESOURCE,
                "OperationOutcome": {"type": "object", "required": ["resourceType", "issue"],
                                     "properties": {
                                         "resourceType": {"type": "string",
                                                          "enum": ["OperationOutcome"]},
                                         "issue": {"type": "array", "minItems": 1, "items": {
                                             "type": "object",
                                             "required": ["severity", "code", "diagnostics"],
                                             "properties": {
                                                 "severity": {"type": "string"},
                                                 "code": {"type": "string"},
                                                 "diagnostics": {"type": "string"}}}}}},
            },
        },
    }
