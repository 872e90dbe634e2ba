"""Refuse a request whose parameters carry a NUL character, before any view reads them.

PostgreSQL text cannot hold NUL (0x00): such a value, read by a view or a form
and passed to a query, would end in a database error (a 500). No browser form
produces one, so the request is refused at one place, for every view, with a
French message, instead of each view and form checking it.
"""

from django.http import HttpResponseBadRequest

from etanche.fhir.outcome import FhirError, error_response

MESSAGE = "Requête refusée : un des champs contient un caractère nul (0x00).\n"


def _has_nul(query_dict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in query_dict.getlist(key))
               for key in query_dict)


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            if request.path.startswith("/fhir/"):  # the API answers in FHIR, even here
                return error_response(FhirError(400, MESSAGE.strip()))
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return None
