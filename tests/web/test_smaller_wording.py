"""Issue 24, item 14 (the pieces left): an e-mail domain typo warns without refusing, roles
in inclusive labels, results sorted by the birth name displayed."""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.accounts.models import Role
from etanche.patients import intake
from etanche.patients.models import Patient
from tests.personas import sign_in

PERSON = {
    "birth_name": "Le Bihan", "first_names": "Yann Erwan", "birth_date": "1990-07-14",
    "sex": "M", "birthplace_code": "29019", "phone": "0639980044",
}


@pytest.mark.parametrize(("typed", "known"), [
    ("yann@gmial.com", "gmail.com"), ("yann@hotmial.fr", "hotmail.fr"),
    ("yann@gmail.con", "gmail.com"), ("yann@oragne.fr", "orange.fr"),
])
def test_a_domain_one_slip_from_a_common_one_is_a_warning(typed, known):
    warning = intake.email_domain_warning(typed)
    assert known in warning and typed.split("@")[1] not in warning


@pytest.mark.parametrize("typed", ["yann@gmail.com", "yann@example.org", "yann@chu-brest.fr"])
def test_a_real_or_unrelated_domain_gives_no_warning(typed):
    assert intake.email_domain_warning(typed) == ""


def test_the_form_registers_a_typo_domain_and_warns(world):
    client = sign_in(Client(), world.frontdesk)
    response = client.post(reverse("patient_create"), {**PERSON, "email": "yann@gmial.com"},
                           follow=True)
    assert Patient.objects.for_lab(world.lab_a).count() == 1  # registered, not refused
    page = response.content.decode()
    assert "ressemble à « gmail.com »" in page


def test_roles_read_in_inclusive_labels(world):
    assert dict(Role.choices) == {
        "frontdesk": "Secrétaire (accueil / prélèvement)", "biologist": "Biologiste",
        "labadmin": "Administrateur·rice du laboratoire",
        "dpo": "Délégué·e à la protection des données", "auditor": "Auditeur·rice",
    }
    page = sign_in(Client(), world.labadmin).get(reverse("account")).content.decode()
    assert "Administrateur·rice du laboratoire" in page
