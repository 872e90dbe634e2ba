"""Every failure of the API as a FHIR OperationOutcome, with a French `diagnostics`.

Views raise `FhirError(status, diagnostics, ...)`; `etanche.fhir.views.endpoint`
turns it (and any Django ValidationError or domain error it knows) into the
response. Nothing here names a person: diagnostics hold field paths, ids and
reasons, never a submitted value.
"""

import json

from django.http import HttpResponse

CONTENT_TYPE = "application/fhir+json; charset=utf-8"
# HTTP status -> OperationOutcome.issue.code (FHIR R4 issue-type value set)
CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
         406: "not-supported", 409: "conflict", 410: "deleted", 412: "conflict",
         413: "too-costly", 415: "not-supported", 422: "business-rule", 429: "throttled",
         500: "exception", 503: "transient"}


class FhirError(Exception):
    def __init__(self, status: int, diagnostics: str, *, code: str | None = None,
                 expression=None, headers: dict | None = None, issues: list | None = None):
        super().__init__(f"{status} {code or CODES.get(status, 'processing')}")
        self.status = status
        self.diagnostics = diagnostics
        self.code = code or CODES.get(status, "processing")
        self.expression = [expression] if isinstance(expression, str) else list(expression or [])
        self.headers = headers or {}
        self.issues = issues  # several issues (one per faulty field), each a dict

    def outcome(self) -> dict:
        issues = self.issues or [issue(self.diagnostics, self.code, self.expression)]
        return {"resourceType": "OperationOutcome", "issue": issues}


def issue(diagnostics: str, code: str = "processing", expression=(), severity="error") -> dict:
    out = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        out["expression"] = list(expression)
    return out


def fhir_response(body: dict, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                            status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(error: FhirError) -> HttpResponse:
    headers = dict(error.headers)
    if error.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="etanche"')
    return fhir_response(error.outcome(), error.status, headers)
