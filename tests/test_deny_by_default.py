"""Deny by default (DESIGN §7): every URL is classified, and each class is proven.

Every URL pattern of the project must appear in exactly one table below; a new
URL that is not classified fails `test_every_url_is_classified`. Then:
- anonymous GET/POST/PUT/PATCH/DELETE go to the login page (401 under /fhir/),
  except the PUBLIC list, which is the whole public surface;
- LOGIN_STEPS answer only a user between password and TOTP (never anonymous);
- SELF_SERVICE views serve any fully logged-in member, on their own account;
- LAB_VIEWS declare a permission (`require_permission`), give 403 to every role
  of the lab without it, and 404 to a user of another lab who has it, for every
  URL naming an object.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from etanche.accounts.models import Role
from etanche.accounts.permissions import role_has
from tests.personas import build_world, make_user, sign_in
from tests.urlwalk import all_urls

API_PREFIX = "/fhir/"

# Reachable without login. Adding a name here needs a reason in review.
PUBLIC = {"login", "healthz"}

# Between password and TOTP; anonymous users are still sent to login.
LOGIN_STEPS = {"otp_verify", "mfa_enrol", "password_first_change", "logout"}

# Any fully logged-in member, acting on their own account only.
SELF_SERVICE = {
    "home", "account", "account_password", "account_recovery", "account_mfa",
    "account_logout_all", "sudo",
}


@dataclass
class Rule:
    # Builds the URL kwargs of an object of lab A; None for views without an object.
    kwargs: Callable | None = None
    # Arguments for a URL whose object cannot be built here yet (no 404 check).
    sample: dict | None = None
    extra: dict = field(default_factory=dict)


def _member(world):
    # A member who is none of the actors, so disabling them logs no actor out.
    return {"pk": world.membership(world.target).pk}


# Views of a lab's data: the permission comes from the view's decorator.
LAB_VIEWS = {
    "users": Rule(),
    "user_create": Rule(),
    "shared_use": Rule(),
    "member_detail": Rule(_member),
    "member_role": Rule(_member),
    "member_disable": Rule(_member),
    "member_unlock": Rule(_member),
    "member_reset_password": Rule(_member),
    "member_reset_mfa": Rule(_member),
    "journal": Rule(),
    "journal_export": Rule(),
    "access_history": Rule(lambda w: {"patient_id": _front_office(w).patient.pk}),
    # Front office (patients and orders web pages).
    "patient_search": Rule(),
    "patient_create": Rule(),
    "patient_detail": Rule(lambda w: {"pk": _front_office(w).patient.pk}),
    "order_create": Rule(lambda w: {"patient_id": _front_office(w).patient.pk}),
    "order_tests_preview": Rule(),
    "test_search": Rule(),
    "order_detail": Rule(lambda w: {"pk": _front_office(w).order.pk}),
    "order_sample": Rule(lambda w: {"pk": _front_office(w).order.pk}),
    "order_receive": Rule(lambda w: {"pk": _front_office(w).order.pk}),
    "order_cancel": Rule(lambda w: {"pk": _front_office(w).order.pk}),
    "order_reject": Rule(lambda w: {"pk": _front_office(w).order.pk}),
    "order_labels": Rule(lambda w: {"pk": _front_office(w).order.pk}),
    "catalogue": Rule(),
    "catalogue_add": Rule(),
    "catalogue_edit": Rule(lambda w: {"pk": _front_office(w).test.pk}),
    "catalogue_toggle": Rule(lambda w: {"pk": _front_office(w).test.pk}),
    # Exports: one export of lab A requested by its lab admin.
    "export_list": Rule(),
    "export_create": Rule(),
    "export_detail": Rule(lambda w: {"pk": _export(w).pk}),
    "export_approve": Rule(lambda w: {"pk": _export(w).pk}),
    "export_refuse": Rule(lambda w: {"pk": _export(w).pk}, extra={"reason": "test"}),
    "export_download": Rule(lambda w: {"pk": _export(w).pk}),
    "export_purge": Rule(lambda w: {"pk": _export(w).pk}),
}


def _export(world):
    """An export request of lab A (requested by its lab admin), built once per world."""
    if not hasattr(world, "export"):
        from pyrage import x25519

        from etanche.exports import services as exports

        world.export = exports.request_export(
            world.lab_a, world.labadmin, profile="research", selection="all",
            recipient=str(x25519.Identity.generate().to_public()))
    return world.export


def _front_office(world):
    """A patient, a request and a catalogue test of lab A, built once per world."""
    if not hasattr(world, "patient"):
        from etanche.orders.catalogue import all_tests
        from tests.orders.helpers import make_order, make_patient

        world.patient = make_patient(world.lab_a, world.frontdesk)
        world.order = make_order(world.lab_a, world.frontdesk, world.patient)
        world.test = all_tests(world.lab_a).get(code="1104")
    return world


def _qualified(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _qualified(entry, inner)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else None), entry.callback


def _views():
    return dict(_qualified())


# --- classification ---------------------------------------------------------------

def test_every_url_is_classified():
    names = [name for name, _ in _qualified()]
    assert None not in names, "name every URL pattern so it can be classified"
    assert len(names) == len(set(names)), "URL names must be unique across the project"
    tables = [PUBLIC, LOGIN_STEPS, SELF_SERVICE, set(LAB_VIEWS)]
    classified = set().union(*tables)
    assert sum(len(t) for t in tables) == len(classified), "a URL is in two tables"
    unclassified = set(names) - classified
    assert not unclassified, f"classify these URLs in {__file__}: {sorted(unclassified)}"
    assert not classified - set(names), f"stale entries: {sorted(classified - set(names))}"


def test_it_exempts_only_the_public_views():
    exempt = {name for name, view in _views().items()
              if getattr(view, "login_required", True) is False}
    assert exempt == PUBLIC


def test_lab_views_declare_a_permission_and_self_service_views_declare_none():
    views = _views()
    for name in LAB_VIEWS:
        assert getattr(views[name], "required_permission", None), name
    for name in SELF_SERVICE - {"home"}:
        assert getattr(views[name], "required_permission", "missing") is None, name


# --- anonymous ---------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_it_sends_anonymous_users_to_login_everywhere(client, method):
    checked = 0
    for name, path, _ in all_urls():
        if name in PUBLIC:
            continue
        response = getattr(client, method)(path)
        status = response.status_code
        if path.startswith(API_PREFIX):
            assert status == 401, f"{method.upper()} {path} answered {status}"
        else:
            assert status == 302, f"{method.upper()} {path} answered {status}"
            assert response["Location"].startswith("/login/"), f"{path} -> {response['Location']}"
        checked += 1
    assert checked >= len(LOGIN_STEPS | SELF_SERVICE | set(LAB_VIEWS))


@pytest.mark.django_db
def test_it_serves_static_files_without_login(client):
    response = client.get("/static/etanche/etanche.css")
    assert response.status_code == 200


# --- half-logged-in users ----------------------------------------------------------

@pytest.mark.django_db
def test_a_user_without_the_totp_step_reaches_only_the_login_steps():
    world = build_world()
    client = Client()
    client.force_login(world.biologist)
    session = client.session
    session["accounts.password_at"] = __import__("time").time()
    session.save()
    for name, path, _ in all_urls():
        if name in PUBLIC | LOGIN_STEPS:
            continue
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/connexion/code/", path


# --- roles and labs ----------------------------------------------------------------

def _method(client, url):
    """The method the view answers (GET, or POST for action views)."""
    return "post" if client.get(url).status_code == 405 else "get"


@pytest.mark.django_db
def test_lab_views_refuse_roles_without_the_permission_and_other_labs():
    world = build_world()
    world.target = make_user("marie.lambert", world.lab_a, Role.FRONTDESK)
    views = _views()
    in_lab_a = {Role.FRONTDESK: world.frontdesk, Role.BIOLOGIST: world.biologist,
                Role.LABADMIN: world.labadmin, Role.DPO: world.dpo, Role.AUDITOR: world.auditor}
    outsiders = {role: make_user(f"other.{role}", world.lab_b, role) for role in Role.values}
    clients = {user: sign_in(Client(), user, sudo=True)
               for user in [*in_lab_a.values(), *outsiders.values()]}
    for name, rule in LAB_VIEWS.items():
        perm = views[name].required_permission
        url = reverse(name, kwargs=rule.kwargs(world) if rule.kwargs else rule.sample)
        method = _method(clients[world.labadmin], url)
        for role, user in in_lab_a.items():
            status = getattr(clients[user], method)(url, rule.extra).status_code
            if role_has(role, perm):
                # Past authorisation (a 400 for missing parameters is fine here).
                assert status not in (401, 403, 404), f"{role} {method} {url}: {status}"
            else:
                assert status == 403, f"{role} {method} {url}: {status}"
        if rule.kwargs:
            for role, user in outsiders.items():
                status = getattr(clients[user], method)(url, rule.extra).status_code
                expected = 404 if role_has(role, perm) else 403
                assert status == expected, f"other lab {role} {method} {url}: {status}"


@pytest.mark.django_db
def test_self_service_views_answer_every_role():
    world = build_world()
    for user in (world.frontdesk, world.auditor, world.outsider_admin):
        client = sign_in(Client(), user, sudo=True)
        for name in ("home", "account", "account_password", "account_recovery", "sudo"):
            assert client.get(reverse(name)).status_code == 200, (user, name)
