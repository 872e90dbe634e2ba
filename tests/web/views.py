"""Every view of the web surface in one table, and what the checklist needs to call it.

tests/web/test_views.py drives the whole checklist from VIEWS: it works for a
role holding the permission, another lab's object is a 404, every role of the
lab without the permission (and an account of no lab) gets a 403, anonymous
users go to the login page (a 401 under /fhir/), other methods get a 405 and
an unknown id a 404. A URL pattern missing from the table fails the build.
Adding a PUBLIC view needs a reason in review.
"""

import itertools
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from pyrage import x25519

from etanche.accounts import tokens
from etanche.accounts.models import Membership, Role
from etanche.accounts.permissions import Perm, role_has
from etanche.breach import jobs as breach_jobs
from etanche.breach import services as breach
from etanche.breach.spool import SealedSpool
from etanche.exports import services as exports
from etanche.imports import jobs as import_jobs
from etanche.orders import catalogue
from etanche.rights import services as rights
from etanche.watch import alerts as watch_alerts
from etanche.watch import rules as watch_rules
from etanche.web.middleware import PASSWORD_AT
from tests.orders.helpers import make_order, make_patient
from tests.personas import make_user, sign_in

API_PREFIX = "/fhir/"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNKNOWN_ID = 987654

# Kinds of view. The kinds after LAB name the object the URL points at.
PUBLIC = "public"  # reachable without login
LOGIN_STEP = "login_step"  # only in its own half-logged-in state: anonymous users go to login,
#                             a full session home (issue 16), another step's state to that step
SELF_SERVICE = "self_service"  # any fully logged-in account, on itself only
LAB = "lab"  # a lab's data, no object in the URL
PATIENT, ORDER, EXPORT, MEMBER, CATALOGUE_TEST = (
    "patient", "order", "export", "member", "catalogue_test")
OBJECT_KINDS = (PATIENT, ORDER, EXPORT, MEMBER, CATALOGUE_TEST)
SUBJECT_REQUEST = "subject_request"
OBJECT_KINDS = (*OBJECT_KINDS, SUBJECT_REQUEST)
ALERT = "alert"
OBJECT_KINDS = (*OBJECT_KINDS, ALERT)
BREACH_CASE = "breach_case"
OBJECT_KINDS = (*OBJECT_KINDS, BREACH_CASE)
IMPORT_JOB = "import_job"
OBJECT_KINDS = (*OBJECT_KINDS, IMPORT_JOB)
BREACH_JOB = "breach_job"
OBJECT_KINDS = (*OBJECT_KINDS, BREACH_JOB)
API = "api"  # the FHIR API: a personal token, no session (etanche/fhir/door.py)


@dataclass(frozen=True)
class ViewSpec:
    name: str  # URL name, unique across the project
    method: str  # the method the checklist calls the view with
    permission: Perm | None  # must equal the view's `required_permission`
    kind: str
    also: tuple[str, ...] = ()  # the other methods the view answers
    data: dict = field(default_factory=dict)  # sent with `method`
    status: int = 200  # what a holder of the permission gets...
    redirect: str | None = None  # ...or, with 302, the URL name it is sent to

    @property
    def allowed(self) -> set[str]:
        return {self.method, *self.also}

    def __str__(self):
        return self.name


def _spec(name, method, permission, kind, **kwargs):
    return ViewSpec(name, method, permission, kind, **kwargs)


FORM = ("POST",)  # a GET page whose form posts back to it
P = Perm

VIEWS = [
    _spec("healthz", "GET", None, PUBLIC),
    _spec("login", "GET", None, PUBLIC, also=FORM),
    # Public because the person has no credential yet: it serves only a valid, unspent,
    # unexpired activation token (without one, a French refusal: 400), issue 16 item 3.
    _spec("activation", "GET", None, PUBLIC, also=FORM, status=400),
    # login steps
    _spec("logout", "POST", None, LOGIN_STEP, status=302, redirect="login"),
    _spec("otp_verify", "GET", None, LOGIN_STEP, also=FORM),
    _spec("mfa_enrol", "GET", None, LOGIN_STEP, also=FORM),
    _spec("password_first_change", "GET", None, LOGIN_STEP, also=FORM),
    # one's own account
    _spec("home", "GET", None, SELF_SERVICE),
    _spec("account", "GET", None, SELF_SERVICE),
    _spec("account_password", "GET", None, SELF_SERVICE, also=FORM),
    _spec("account_recovery", "GET", None, SELF_SERVICE, also=FORM),
    _spec("account_mfa", "GET", None, SELF_SERVICE, also=FORM),
    _spec("account_logout_all", "POST", None, SELF_SERVICE, status=302, redirect="login"),
    _spec("sudo", "GET", None, SELF_SERVICE, also=FORM),
    _spec("account_tokens", "GET", None, SELF_SERVICE, also=FORM),
    # the lab's team
    _spec("users", "GET", P.USER_MANAGE, LAB),
    _spec("user_create", "GET", P.USER_MANAGE, LAB, also=FORM),
    _spec("shared_use", "GET", P.SHARED_USE_READ, LAB),
    _spec("member_detail", "GET", P.USER_MANAGE, MEMBER),
    _spec("member_role", "POST", P.USER_MANAGE, MEMBER, data={"role": Role.BIOLOGIST},
          status=302, redirect="member_detail"),
    _spec("member_disable", "POST", P.USER_MANAGE, MEMBER, status=302,
          redirect="member_detail"),
    _spec("member_unlock", "POST", P.USER_MANAGE, MEMBER, status=302,
          redirect="member_detail"),
    _spec("address_unlock", "POST", P.USER_MANAGE, LAB, data={"address": "192.0.2.10"},
          status=302, redirect="users"),
    _spec("member_reset_password", "POST", P.USER_MANAGE, MEMBER),
    _spec("member_reset_mfa", "POST", P.USER_MANAGE, MEMBER, status=302,
          redirect="member_detail"),
    # journal
    _spec("journal", "GET", P.JOURNAL_READ, LAB),
    _spec("journal_export", "GET", P.JOURNAL_READ, LAB,
          data={"start": "2026-01-01", "end": "2026-01-02"}),
    _spec("access_history", "GET", P.ACCESS_HISTORY_READ, PATIENT),
    # patients
    _spec("patient_search", "GET", P.PATIENT_SEARCH, LAB, also=FORM),
    _spec("patient_create", "GET", P.PATIENT_WRITE, LAB, also=FORM),
    _spec("patients_today", "GET", P.PATIENT_SEARCH, LAB),
    _spec("patient_detail", "GET", P.PATIENT_READ, PATIENT),
    _spec("audit_last", "GET", P.AUDIT_READ, LAB),
    # data-subject requests (the DPO); the answer of an access request is the page
    # offering its encrypted file
    _spec("subject_requests", "GET", P.SUBJECT_REQUEST, LAB, also=FORM),
    _spec("subject_request_detail", "GET", P.SUBJECT_REQUEST, SUBJECT_REQUEST),
    _spec("subject_request_answer", "POST", P.SUBJECT_REQUEST, SUBJECT_REQUEST),
    _spec("patient_correct", "GET", P.PATIENT_WRITE, PATIENT, also=FORM),
    _spec("patient_merge", "GET", P.PATIENT_MERGE, PATIENT, also=FORM),
    # Without a merged record to name, a French message back on the patient page.
    _spec("patient_unmerge", "POST", P.PATIENT_MERGE, PATIENT, status=302,
          redirect="patient_detail"),
    # requests and catalogue
    _spec("order_create", "GET", P.ORDER_WRITE, PATIENT, also=FORM),
    _spec("order_tests_preview", "POST", P.ORDER_WRITE, LAB, data={"tests": "1104"}),
    _spec("test_search", "GET", P.ORDER_WRITE, LAB, data={"q": "ferritine"}),
    _spec("order_detail", "GET", P.ORDER_READ, ORDER),
    _spec("order_sample", "POST", P.SPECIMEN_WRITE, ORDER, status=302,
          redirect="order_detail"),
    _spec("order_receive", "POST", P.SPECIMEN_WRITE, ORDER, status=302,
          redirect="order_detail"),
    _spec("order_cancel", "POST", P.ORDER_WRITE, ORDER, data={"reason": "Demande en double"},
          status=302, redirect="order_detail"),
    _spec("order_reject", "POST", P.SPECIMEN_WRITE, ORDER, data={"reason": "hemolysed"},
          status=302, redirect="order_detail"),
    _spec("order_labels", "GET", P.LABEL_PRINT, ORDER),
    _spec("order_receipt", "GET", P.LABEL_PRINT, ORDER),
    _spec("birthplace_search", "GET", P.PATIENT_WRITE, LAB, data={"q": "rennes"}),
    _spec("order_edit", "GET", P.ORDER_WRITE, ORDER, also=FORM),
    # watch: alerts, their triage, the lab's watch settings, break-the-glass (issue 17)
    _spec("alert_list", "GET", P.ALERT_READ, LAB),
    _spec("alert_detail", "GET", P.ALERT_READ, ALERT),
    _spec("alert_ack", "POST", P.ALERT_TRIAGE, ALERT, status=302, redirect="alert_detail"),
    _spec("alert_breach_case", "POST", P.BREACH_MANAGE, ALERT, status=302,
          redirect="alert_detail"),
    _spec("alert_close", "POST", P.ALERT_TRIAGE, ALERT,
          data={"resolution": "justified", "comment": "Vérifié"}, status=302,
          redirect="alert_detail"),
    _spec("watch_settings", "GET", P.WATCH_MANAGE, LAB, also=FORM),
    _spec("staff_identity", "GET", P.WATCH_MANAGE, MEMBER, also=FORM),
    _spec("break_glass", "GET", P.BREAK_GLASS, ORDER, also=FORM),
    _spec("break_glass_view", "GET", P.BREAK_GLASS, ORDER, status=302, redirect="break_glass"),
    _spec("catalogue", "GET", P.CATALOGUE_MANAGE, LAB),
    _spec("interop_outbox", "GET", P.INTEROP_MANAGE, LAB, also=FORM),
    _spec("catalogue_add", "GET", P.CATALOGUE_MANAGE, LAB, also=FORM),
    _spec("catalogue_edit", "GET", P.CATALOGUE_MANAGE, CATALOGUE_TEST, also=FORM),
    _spec("catalogue_toggle", "POST", P.CATALOGUE_MANAGE, CATALOGUE_TEST, status=302,
          redirect="catalogue"),
    # exports (each of lab A requested by its lab admin: the approver is someone else)
    # breach response (the DPO; the upload's scans are tests/breach/test_web.py's)
    _spec("breach_list", "GET", P.BREACH_MANAGE, LAB),
    _spec("breach_upload", "GET", P.BREACH_MANAGE, LAB, also=FORM),
    _spec("breach_case", "GET", P.BREACH_MANAGE, BREACH_CASE),
    _spec("breach_job", "GET", P.BREACH_MANAGE, BREACH_JOB),  # an upload waiting for its scan
    _spec("breach_case_update", "POST", P.BREACH_MANAGE, BREACH_CASE,
          data={"note": "Appel du prestataire"}, status=302, redirect="breach_case"),
    _spec("breach_cnil_pdf", "GET", P.BREACH_MANAGE, BREACH_CASE),
    # a case without patients: no letter to write, a French message on the case page
    _spec("breach_letters", "POST", P.BREACH_MANAGE, BREACH_CASE,
          data={"recipient": str(x25519.Identity.generate().to_public())}, status=302,
          redirect="breach_case"),
    # imports (lab admin; the pages need a fresh re-authentication, which sign_in gives)
    _spec("import_list", "GET", P.IMPORT_RUN, LAB, also=FORM),
    _spec("import_detail", "GET", P.IMPORT_RUN, IMPORT_JOB),
    _spec("import_review", "GET", P.IMPORT_RUN, LAB, also=FORM),
    _spec("import_confirm", "POST", P.IMPORT_RUN, IMPORT_JOB, status=302,
          redirect="import_detail"),
    _spec("import_abandon", "POST", P.IMPORT_RUN, IMPORT_JOB, status=302,
          redirect="import_detail"),
    _spec("export_list", "GET", P.EXPORT_REQUEST, LAB),
    _spec("export_create", "GET", P.EXPORT_REQUEST, LAB, also=FORM),
    _spec("export_detail", "GET", P.EXPORT_REQUEST, EXPORT),
    _spec("export_approve", "POST", P.EXPORT_APPROVE, EXPORT, status=302,
          redirect="export_detail"),
    _spec("export_refuse", "POST", P.EXPORT_APPROVE, EXPORT, data={"reason": "Hors finalité"},
          status=302, redirect="export_detail"),
    _spec("export_download", "POST", P.EXPORT_DOWNLOAD, EXPORT, status=302,
          redirect="export_detail"),
    _spec("export_purge", "POST", P.EXPORT_APPROVE, EXPORT, status=302,
          redirect="export_detail"),
    # the FHIR API (personal tokens; tests/fhir walks scopes, labs and token states)
    _spec("fhir_metadata", "GET", None, PUBLIC),  # what is implemented, about no one
    _spec("fhir_openapi", "GET", None, API),
    _spec("fhir_patient_type", "GET", P.PATIENT_SEARCH, API, also=FORM, data={"_id": "1"}),
    _spec("fhir_patient_search", "POST", P.PATIENT_SEARCH, API, data={"_id": "1"}),
    _spec("fhir_patient", "GET", P.PATIENT_READ, API, also=("PUT",)),
    _spec("fhir_practitioner", "GET", P.PATIENT_READ, API),
    _spec("fhir_coverage_type", "GET", P.PATIENT_READ, API, data={"beneficiary": "Patient/1"}),
    _spec("fhir_coverage", "GET", P.PATIENT_READ, API),
    _spec("fhir_service_request_type", "GET", P.ORDER_READ, API, also=FORM),
    _spec("fhir_service_request_search", "POST", P.ORDER_READ, API),
    _spec("fhir_service_request", "GET", P.ORDER_READ, API, also=("PUT",)),
    _spec("fhir_specimen_type", "GET", P.ORDER_READ, API, data={"identifier": "1"}),
    _spec("fhir_specimen_search", "POST", P.ORDER_READ, API, data={"identifier": "1"}),
    _spec("fhir_specimen", "GET", P.ORDER_READ, API),
    _spec("fhir_organization_type", "GET", None, API),
    _spec("fhir_organization", "GET", None, API),
    _spec("fhir_root", "GET", None, API, also=METHODS, status=404),
    _spec("fhir_not_supported", "GET", None, API, also=METHODS, status=404),
]
BY_NAME = {spec.name: spec for spec in VIEWS}


def where(*kinds) -> list[ViewSpec]:
    return [spec for spec in VIEWS if spec.kind in kinds]


# --- the URL patterns ------------------------------------------------------------------

def url_patterns(resolver=None, namespace=""):
    """(qualified name, pattern) for every URL pattern of the project."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry, inner)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else None), entry


def url(spec: ViewSpec, pk=None) -> str:
    """The URL of `spec`, naming object `pk` when the view takes one."""
    arguments = list(dict(url_patterns())[spec.name].pattern.converters)
    return reverse(spec.name, kwargs={arguments[0]: pk} if arguments else None)


def redirect_target(spec: ViewSpec, pk=None) -> str:
    arguments = list(dict(url_patterns())[spec.redirect].pattern.converters)
    return reverse(spec.redirect, kwargs={arguments[0]: pk} if arguments else None)


# --- objects: one in lab A and one in lab B, per kind -------------------------------------

_serial = itertools.count(1)


def _people(world, lab) -> dict:
    return world.in_lab_a if lab == world.lab_a else world.in_lab_b


def _patient(world, lab):
    return make_patient(lab, _people(world, lab)[Role.FRONTDESK])


def _order(world, lab):
    front = _people(world, lab)[Role.FRONTDESK]
    return make_order(lab, front, make_patient(lab, front))


def _export(world, lab):
    recipient = str(x25519.Identity.generate().to_public())
    return exports.request_export(lab, _people(world, lab)[Role.LABADMIN], profile="research",
                                  selection="all", recipient=recipient)


def _member(world, lab):
    # Someone who is none of the actors, so disabling them logs no actor out.
    user = make_user(f"marie.lambert{next(_serial)}", lab, Role.FRONTDESK)
    return world.membership(user, lab)


def _catalogue_test(world, lab):
    return catalogue.all_tests(lab).get(code="1104")


def _subject_request(world, lab):
    patient = make_patient(lab, _people(world, lab)[Role.FRONTDESK])
    return rights.record_request(lab, None, patient.pk, "access", identity_check="CNI")


def _alert(world, lab):
    return watch_alerts.hit(
        lab.pk, watch_rules.BY_ID["break-glass"], at=timezone.now(),
        user_id=_people(world, lab)[Role.FRONTDESK].pk)


def _breach_case(world, lab):
    return breach.open_case(lab, _people(world, lab)[Role.DPO], title="Fichier trouvé")


def _import_job(world, lab):
    job, writer = import_jobs.receive(lab, _people(world, lab)[Role.LABADMIN], "patients")
    writer.write(b"nom;prenom\n")
    writer.close()
    return job


def _breach_job(world, lab):
    spool = SealedSpool(lab)
    spool.write(b"nom;prenom\n")
    spool.finish()
    job = breach_jobs.receive(lab, _people(world, lab)[Role.DPO], spool)
    spool.delete()  # the page needs the job, not the file; no spool left for other tests
    return job


OBJECTS = {PATIENT: _patient, ORDER: _order, EXPORT: _export, MEMBER: _member,
           CATALOGUE_TEST: _catalogue_test, SUBJECT_REQUEST: _subject_request, ALERT: _alert,
           BREACH_CASE: _breach_case, IMPORT_JOB: _import_job, BREACH_JOB: _breach_job}


def _api_patient(world, lab):
    front = _people(world, lab)[Role.FRONTDESK]
    return make_patient(lab, front, physician_name="Dr Le Gall", amo_regime="01",
                        amo_fund="351", amo_centre="0001")


API_OBJECTS = {
    "fhir_patient": lambda world, lab: str(_api_patient(world, lab).pk),
    "fhir_practitioner": lambda world, lab: f"gp-{_api_patient(world, lab).pk}",
    "fhir_coverage": lambda world, lab: f"amo-{_api_patient(world, lab).pk}",
    "fhir_service_request": lambda world, lab: str(_order(world, lab).pk),
    "fhir_specimen": lambda world, lab: str(_order(world, lab).specimens.first().pk),
    "fhir_organization": lambda world, lab: str(lab.pk),
    "fhir_not_supported": lambda world, lab: "Observation/1",
}


def api_token(user, lab) -> str:
    """A token of `user` in `lab` with every scope the user's role can use."""
    membership = world_membership(user, lab)
    scopes = [s for s in ("user/Patient.*", "user/Practitioner.read", "user/Coverage.read",
                          "user/ServiceRequest.*", "user/Specimen.read",
                          "user/Organization.read", tokens.CLINICAL)
              if tokens.role_can_use(membership.role, s)]
    return tokens.create_token(membership, scopes=" ".join(scopes), validity=timedelta(days=1),
                               label="checklist")[1]


def world_membership(user, lab):
    return Membership.objects.select_related("lab", "user").get(user=user, lab=lab)


def api_client(user, lab) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token(user, lab)}")


def make_object(spec: ViewSpec, world, lab) -> int | str | None:
    """The pk of a fresh object of the kind `spec` names, in `lab` (None for no object)."""
    if spec.kind == API:
        factory = API_OBJECTS.get(spec.name)
        return factory(world, lab) if factory else None
    factory = OBJECTS.get(spec.kind)
    return factory(world, lab).pk if factory else None


# --- who may call a view, and in which state ----------------------------------------------

def holders(spec: ViewSpec, people: dict) -> list:
    """The people (role -> user) whose role grants the permission `spec` needs."""
    return [user for role, user in people.items() if role_has(role, spec.permission)]


def holder(spec: ViewSpec, people: dict):
    return holders(spec, people)[0]


def lacking(spec: ViewSpec, world) -> dict:
    """Every account of either lab without the permission, and the outsider of no lab."""
    refused = {f"lab {name} {role}": user
               for name, people in (("A", world.in_lab_a), ("B", world.in_lab_b))
               for role, user in people.items() if not role_has(role, spec.permission)}
    return {**refused, "outsider": world.outsider}


def member_client(user) -> Client:
    return sign_in(Client(), user, sudo=True)


def _half_logged_in(user) -> Client:
    """Password given, TOTP step not passed yet."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[PASSWORD_AT] = time.time()
    session.save()
    return client


def _new_password_due(world) -> Client:
    user = make_user("nina.blanc", world.lab_a, Role.FRONTDESK)
    client = sign_in(Client(), user)
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    return client


STEP_CLIENTS = {
    "otp_verify": lambda world: _half_logged_in(world.frontdesk),
    "mfa_enrol": lambda world: _half_logged_in(
        make_user("nina.blanc", world.lab_a, Role.FRONTDESK, totp=False)),
    "password_first_change": _new_password_due,
    "logout": lambda world: sign_in(Client(), world.frontdesk),
}


def caller(spec: ViewSpec, world) -> Client:
    """A client the view of `spec` must serve (lab A's holder for lab views)."""
    if spec.kind == PUBLIC:
        return Client()
    if spec.kind == LOGIN_STEP:
        return STEP_CLIENTS[spec.name](world)
    if spec.kind == SELF_SERVICE:
        return member_client(world.frontdesk)
    if spec.kind == API:
        people = holders(spec, world.in_lab_a) if spec.permission else []
        return api_client(people[0] if people else world.biologist, world.lab_a)
    return member_client(holder(spec, world.in_lab_a))


def call(client: Client, method: str, path: str, data=None):
    data = data or {}
    if method == "GET":
        return client.get(path, data)
    if method == "POST":
        return client.post(path, data)
    return client.generic(method, path)

