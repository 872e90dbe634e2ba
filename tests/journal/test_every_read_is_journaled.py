"""A page that shows a patient's identity must have journaled an access to that patient.

Walks every lab view of the one view table (tests/web/views.py), opens it as
each role allowed to, and whenever the page shows the test patient's name,
requires a journal entry about that patient written by that request. A new
view that displays a patient without journaling fails here.
"""

from django.test import Client
from django.urls import reverse

from etanche.accounts.models import Role
from etanche.accounts.permissions import role_has
from etanche.journal.models import Entry
from etanche.orders.models import Order
from tests.orders.helpers import make_order, make_patient
from tests.personas import sign_in
from tests.web.views import LAB, OBJECT_KINDS, ORDER, PATIENT, make_object, url, where

# make_patient registers "Kergoat"; every page writes it in capitals or as typed.
NAME_FORMS = ("KERGOAT", "Kergoat")


def _shows_patient(response) -> bool:
    if response.status_code != 200 or response.streaming:
        return False
    body = response.content.decode(errors="replace")
    return any(form in body for form in NAME_FORMS)


def _patient_of(spec, pk) -> str | None:
    if spec.kind == PATIENT:
        return str(pk)
    if spec.kind == ORDER:
        return str(Order.objects.get(pk=pk).patient_id)
    return None


def test_every_page_showing_a_patient_journals_the_access(world):
    roles = {Role.FRONTDESK: world.frontdesk, Role.BIOLOGIST: world.biologist,
             Role.DPO: world.dpo}
    showed = []
    for spec in where(LAB, *OBJECT_KINDS):
        if spec.method != "GET":
            continue
        for role, user in roles.items():
            if not role_has(role, spec.permission):
                continue
            pk = make_object(spec, world, world.lab_a)
            patient_id = _patient_of(spec, pk)
            client = sign_in(Client(), user)
            before = Entry.objects.count()
            response = client.get(url(spec, pk), spec.data)
            if not _shows_patient(response):
                continue
            showed.append(spec.name)
            new = Entry.objects.order_by("pk")[before:]
            about_patient = [e for e in new if e.object_type == "patient" and e.user_id == user.pk
                             and patient_id in (None, e.object_id)]
            assert about_patient, f"{spec.name} showed a patient to {role} without a journal entry"
    # The walk must have met the pages that do show patients, or it proves nothing.
    assert {"patient_detail", "order_detail"} <= set(showed), showed


def test_searching_patients_journals_the_criteria_kinds_not_the_values(world):
    make_order(world.lab_a, world.frontdesk, make_patient(world.lab_a, world.frontdesk))
    client = sign_in(Client(), world.frontdesk)
    before = Entry.objects.count()
    response = client.post(reverse("patient_search"), {"name": "kergoat"})
    assert _shows_patient(response)
    [entry] = [e for e in Entry.objects.order_by("pk")[before:] if e.action == "search"]
    assert entry.user_id == world.frontdesk.pk
    assert "kergoat" not in (entry.detail + entry.purpose + entry.object_id).lower()
