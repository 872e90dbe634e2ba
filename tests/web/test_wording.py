"""Issue 24, item 14: small wording fixes a secretary meets every day."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.personas import sign_in

pytestmark = pytest.mark.django_db


def test_logging_out_says_so(world):
    client = sign_in(Client(), world.frontdesk)
    page = client.post(reverse("logout"), follow=True).content.decode()
    assert "Vous êtes déconnecté(e)." in page


def test_zero_results_is_singular_and_the_search_page_speaks_plainly(world):
    client = sign_in(Client(), world.frontdesk)
    page = client.get(reverse("patient_search")).content.decode()
    assert "le nom écrit en entier" in page and "Note technique" in page
    found = client.post(reverse("patient_search"), {"name": "personne"}).content.decode()
    assert "0 résultat<" in found


def test_an_account_without_recovery_codes_is_offered_some(world):
    page = sign_in(Client(), world.frontdesk).get(reverse("account")).content.decode()
    assert "(0 restant" not in page
    assert "aucun : générez-en" in page
