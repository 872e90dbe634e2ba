"""Every view, every form field and known query parameter, with boundary values: no 500.

Issue 16, item 14: `/journal/?start=9999-12-31&end=9999-12-31` raised OverflowError.
This walk takes each URL of tests/web/views.py with a persona the view serves,
reads the names of the fields its page's forms carry, adds the query parameters
views read themselves, and sends each value below by GET and by POST (and any
other method the view answers): in all the fields at once, then in each field
alone (one invalid field stops a form before the code another one reaches: the
journal's end date alone overflowed). The test client raises a view's
exception: any is a failure, and so is any 5xx status.
"""

import re
from urllib.parse import quote

import pytest

from tests.web.views import (
    API,
    LOGIN_STEP,
    PUBLIC,
    VIEWS,
    caller,
    make_object,
    member_client,
    url,
)
from tests.web.views import holder as holder_of

VALUES = {
    "empty": "",
    "huge number": "9" * 40,
    "negative": "-1",
    "first date": "0001-01-01",
    "last date": "9999-12-31",
    "french date": "31/12/9999",
    "long": "x" * 10_000,
    "control characters": "\x00\x1f\u202e",
}
ALONE = {label: VALUES[label]
         for label in ("empty", "huge number", "first date", "last date", "long")}
NON_UTF8 = "%FF%FE%C3%28"  # bytes that are no UTF-8 text, as a client may send them
# Query parameters views read from request.GET themselves (web/*.py), beyond their forms.
QUERY = ("page", "q", "etat", "next", "start", "end")
# Search parameters the FHIR routes read (etanche/fhir/capability.py says which where).
API_QUERY = ("_id", "_count", "_cursor", "_include", "identifier", "family", "given",
             "birthdate", "phonetic", "telecom", "patient", "subject", "status", "authored",
             "request", "beneficiary")
FIELD = re.compile(r"<(?:input|select|textarea)\b[^>]*?\bname=\"([^\"]+)\"")


def _fields(client, spec, path) -> list[str]:
    names = set(spec.data) | (set(API_QUERY) if spec.kind == API else set(QUERY))
    if "GET" in spec.allowed:
        page = client.get(path)
        if page.status_code == 200 and page["Content-Type"].startswith("text/html"):
            names |= set(FIELD.findall(page.content.decode()))
    names.discard("csrfmiddlewaretoken")
    return sorted(names)


def _client(spec, world, first_client):
    """A fresh signed-in client for each request where possible: a logout, a refused
    sudo or a throttle must not make the rest of the walk see only the login page."""
    if spec.kind in (PUBLIC, LOGIN_STEP, API):  # the API: the first client's token
        return first_client
    if spec.permission is None:
        return member_client(world.frontdesk)
    return member_client(holder_of(spec, world.in_lab_a))


def _send(client, method, path, fields, value):
    if method == "GET":
        return client.get(path, dict.fromkeys(fields, value))
    return client.generic(method, path, "&".join(f"{f}={quote(value)}" for f in fields),
                          content_type="application/x-www-form-urlencoded")


def _send_raw(client, method, path, fields):
    query = "&".join(f"{f}={NON_UTF8}" for f in fields)
    if method == "GET":
        return client.get(f"{path}?{query}")
    return client.generic(method, path, query, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("spec", VIEWS, ids=[spec.name for spec in VIEWS])
def test_no_boundary_value_makes_a_view_fail(world, spec):
    first = caller(spec, world)
    path = url(spec, make_object(spec, world, world.lab_a))
    fields = _fields(first, spec, path)
    # All fields at once, then each alone: one invalid field stops a form before the
    # code that would fail on another one (the journal's end date alone overflowed).
    for method in ("GET", "POST", *sorted(spec.allowed - {"GET", "POST"})):
        # A method the view refuses (405) is refused before any parsing: once is enough.
        alone = [[name] for name in fields] if method in spec.allowed else []
        for group in [fields, *alone]:
            values = VALUES if group is fields else ALONE
            for label, value in values.items():
                response = _send(_client(spec, world, first), method, path, group, value)
                assert response.status_code < 500, (method, group, label)
            response = _send_raw(_client(spec, world, first), method, path, group)
            assert response.status_code < 500, (method, group, "non-UTF-8")


def test_the_walk_reads_the_fields_of_the_pages(world):
    """The walk is only as good as the names it finds: the journal's filter has its own."""
    spec = next(s for s in VIEWS if s.name == "journal")
    fields = _fields(member_client(holder_of(spec, world.in_lab_a)), spec, url(spec))
    assert {"user", "action", "patient", "start", "end"} <= set(fields)
