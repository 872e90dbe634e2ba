"""A page that shows a patient's identity must have journaled an access to that patient.

Walks every lab view of the project (the deny-by-default table), opens it as
each role allowed to, and whenever the page shows the test patient's name,
requires a journal entry about that patient written by that request. A new
view that displays a patient without journaling fails here.
"""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.accounts.models import Role
from etanche.accounts.permissions import role_has
from etanche.journal.models import Entry
from tests.personas import build_world, make_user, sign_in
from tests.test_deny_by_default import LAB_VIEWS, _front_office, _views

# make_patient registers "Kergoat"; every page writes it in capitals or as typed.
NAME_FORMS = ("KERGOAT", "Kergoat")


def _shows_patient(response) -> bool:
    if response.status_code != 200 or response.streaming:
        return False
    body = response.content.decode(errors="replace")
    return any(form in body for form in NAME_FORMS)


@pytest.mark.django_db
def test_every_page_showing_a_patient_journals_the_access():
    world = build_world()
    world.target = make_user("marie.lambert", world.lab_a, Role.FRONTDESK)
    _front_office(world)
    patient_id = str(world.patient.pk)
    views = _views()
    roles = {Role.FRONTDESK: world.frontdesk, Role.BIOLOGIST: world.biologist,
             Role.DPO: world.dpo}
    showed = []
    for name, rule in LAB_VIEWS.items():
        kwargs = rule.kwargs(world) if rule.kwargs else rule.sample
        url = reverse(name, kwargs=kwargs)
        permission = views[name].required_permission
        for role, user in roles.items():
            if not role_has(role, permission):
                continue
            client = sign_in(Client(), user)
            before = Entry.objects.count()
            response = client.get(url)
            if not _shows_patient(response):
                continue
            showed.append(name)
            new = Entry.objects.order_by("pk")[before:]
            about_patient = [e for e in new if e.object_type == "patient"
                             and e.object_id == patient_id and e.user_id == user.pk]
            assert about_patient, f"{name} showed the patient to {role} without a journal entry"
    # The walk must have met the pages that do show patients, or it proves nothing.
    assert {"patient_detail", "order_detail"} <= set(showed), showed


@pytest.mark.django_db
def test_searching_patients_journals_the_criteria_kinds_not_the_values():
    world = build_world()
    _front_office(world)
    client = sign_in(Client(), world.frontdesk)
    before = Entry.objects.count()
    response = client.get(reverse("patient_search"), {"name": "kergoat"})
    assert _shows_patient(response)
    [entry] = [e for e in Entry.objects.order_by("pk")[before:] if e.action == "search"]
    assert entry.user_id == world.frontdesk.pk
    assert "kergoat" not in (entry.detail + entry.purpose + entry.object_id).lower()
