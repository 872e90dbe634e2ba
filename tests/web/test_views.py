"""The view checklist and deny by default, driven for every view by tests/web/views.py.

Every URL pattern of the project is in VIEWS exactly once, with the permission
its view declares (`require_permission`); then, per view: it works for a role
holding the permission, another lab's object is a 404, each role without the
permission gets a 403, anonymous users go to login, other methods get a 405
and an unknown id a 404.
"""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from etanche.accounts.permissions import role_has
from etanche.web.decorators import ANY_STEP, STEP_ATTR
from tests.web.views import (
    API,
    API_PREFIX,
    LAB,
    LOGIN_STEP,
    METHODS,
    OBJECT_KINDS,
    PUBLIC,
    SELF_SERVICE,
    STEP_CLIENTS,
    UNKNOWN_ID,
    VIEWS,
    call,
    caller,
    holder,
    holders,
    lacking,
    make_object,
    member_client,
    redirect_target,
    url,
    url_patterns,
    where,
)

LAB_VIEWS = where(LAB, *OBJECT_KINDS)
OBJECT_VIEWS = where(*OBJECT_KINDS)
SELF_VIEWS = where(SELF_SERVICE)
NOT_PUBLIC = [spec for spec in VIEWS if spec.kind != PUBLIC]


def _each(specs):
    return pytest.mark.parametrize("spec", specs, ids=[spec.name for spec in specs])


def _callbacks() -> dict:
    return {name: pattern.callback for name, pattern in url_patterns()}


# --- the table is the whole surface --------------------------------------------------------

def test_every_url_pattern_is_in_the_table_exactly_once():
    names = [name for name, _ in url_patterns()]
    assert None not in names, "name every URL pattern so the table can list it"
    assert len(names) == len(set(names)), "URL names must be unique across the project"
    listed = [spec.name for spec in VIEWS]
    assert len(listed) == len(set(listed)), "a view is listed twice in tests/web/views.py"
    missing, stale = sorted(set(names) - set(listed)), sorted(set(listed) - set(names))
    assert not missing, f"add to tests/web/views.py: {missing}"
    assert not stale, f"stale in tests/web/views.py: {stale}"


@_each(VIEWS)
def test_the_table_states_the_permission_the_view_declares(spec):
    view = _callbacks()[spec.name]
    if spec.kind in (LAB, *OBJECT_KINDS):
        assert spec.permission is not None
        assert getattr(view, "required_permission", None) == spec.permission
    elif spec.kind == API:
        # Each method declares its need at the door (etanche/fhir/door.py).
        needs = view.api_needs
        assert needs[spec.method].perm == spec.permission
        assert set(needs) == spec.allowed
    elif spec.kind == SELF_SERVICE:
        # Declared with @any_member, not forgotten.
        assert getattr(view, "required_permission", "missing") is None
    else:
        assert spec.permission is None and getattr(view, "required_permission", None) is None


def test_only_the_public_views_are_exempt_from_login():
    exempt = {name for name, view in _callbacks().items()
              if getattr(view, "login_required", True) is False}
    # The API's routes refuse at their own door (a token, never a session): tests/fhir.
    assert exempt == {spec.name for spec in where(PUBLIC, API)}


def test_the_login_steps_are_marked_as_such():
    marked = {name for name, view in _callbacks().items() if hasattr(view, STEP_ATTR)}
    assert marked == {spec.name for spec in where(LOGIN_STEP)}


@_each(VIEWS)
def test_a_url_names_an_object_exactly_when_its_kind_says_so(spec):
    arguments = dict(url_patterns())[spec.name].pattern.converters
    if spec.kind == API:  # FHIR ids are strings; tests/fhir checks each lab's objects
        assert len(arguments) <= 1
        return
    assert len(arguments) == (1 if spec.kind in OBJECT_KINDS else 0)


# --- the checklist, for every view -----------------------------------------------------------

def _assert_works(spec, response, pk):
    assert response.status_code == spec.status, response.get("Location")
    if spec.redirect:
        assert urlsplit(response["Location"]).path == redirect_target(spec, pk)


@_each(VIEWS)
def test_it_works_for_a_holder_of_the_permission(world, spec):
    pk = make_object(spec, world, world.lab_a)
    _assert_works(spec, call(caller(spec, world), spec.method, url(spec, pk), spec.data), pk)


@_each(LAB_VIEWS)
def test_it_works_for_every_role_holding_the_permission(world, spec):
    for user in holders(spec, world.in_lab_a):
        pk = make_object(spec, world, world.lab_a)
        _assert_works(spec, call(member_client(user), spec.method, url(spec, pk), spec.data), pk)


@_each(SELF_VIEWS)
def test_a_self_service_view_serves_every_role_and_the_outsider(world, spec):
    for user in [*world.in_lab_a.values(), *world.in_lab_b.values(), world.outsider]:
        response = call(member_client(user), spec.method, url(spec), spec.data)
        assert response.status_code == spec.status, user


@_each(OBJECT_VIEWS)
def test_another_labs_object_is_404(world, spec):
    for people, lab in ((world.in_lab_a, world.lab_b), (world.in_lab_b, world.lab_a)):
        client = member_client(holder(spec, people))
        response = call(client, spec.method, url(spec, make_object(spec, world, lab)), spec.data)
        assert response.status_code == 404, lab


@_each(LAB_VIEWS)
def test_every_role_without_the_permission_gets_403(world, spec):
    path = url(spec, make_object(spec, world, world.lab_a))
    refused = lacking(spec, world)
    assert {who for who in refused if who.startswith("lab A ")} == {
        f"lab A {role}" for role in world.in_lab_a if not role_has(role, spec.permission)}
    for who, user in refused.items():
        response = call(member_client(user), spec.method, path, spec.data)
        assert response.status_code == 403, who


@_each(NOT_PUBLIC)
def test_anonymous_users_go_to_login(world, spec):
    path = url(spec, make_object(spec, world, world.lab_a))
    for method in METHODS:
        response = call(Client(), method, path, spec.data)
        if path.startswith(API_PREFIX):
            assert response.status_code == 401, method
        else:
            assert response.status_code == 302, method
            login = urlsplit(response["Location"])
            assert (login.path, login.query.startswith("next=")) == ("/login/", True), method


@_each(VIEWS)
def test_other_methods_get_405(world, spec):
    path = url(spec, make_object(spec, world, world.lab_a))
    client = caller(spec, world)
    for method in sorted(set(METHODS) - spec.allowed):
        assert call(client, method, path, spec.data).status_code == 405, method


@_each(OBJECT_VIEWS)
def test_an_unknown_id_is_404(world, spec):
    response = call(caller(spec, world), spec.method, url(spec, UNKNOWN_ID), spec.data)
    assert response.status_code == 404


# --- between password and TOTP, and static files ---------------------------------------------

STEP_VIEWS = [spec for spec in where(LOGIN_STEP)
              if getattr(_callbacks()[spec.name], STEP_ATTR) != ANY_STEP]


@_each(STEP_VIEWS)
def test_a_full_session_is_sent_home_from_a_login_step(world, spec):
    # A stolen cookie must not reach a page that sets credentials (issue 16, item 1).
    client = member_client(world.frontdesk)
    for method in sorted(spec.allowed):
        response = call(client, method, url(spec), spec.data)
        assert (response.status_code, response["Location"]) == (302, "/"), method


def test_a_user_without_the_totp_step_reaches_only_the_login_steps(world):
    client = STEP_CLIENTS["otp_verify"](world)
    for spec in VIEWS:
        if spec.kind in (PUBLIC, LOGIN_STEP, API):  # the API ignores sessions: a 401
            continue
        response = call(client, spec.method, url(spec, make_object(spec, world, world.lab_a)))
        assert response.status_code == 302, spec.name
        assert response["Location"] == "/connexion/code/", spec.name


@pytest.mark.django_db
def test_it_serves_static_files_without_login(client):
    assert client.get("/static/etanche/etanche.css").status_code == 200
