"""Issue 24, item 11 (the pieces left): the search criteria carried into "Nouveau patient"
in a POST body, never a URL; NABM codes picked by name with the keyboard only."""

import re

from django.test import Client
from django.urls import reverse

from etanche.patients.models import Patient
from tests.personas import sign_in


def test_search_criteria_prefill_the_registration_form_without_a_url(world):
    client = sign_in(Client(), world.frontdesk)
    criteria = {"name": "Le Bihan", "first_name": "Yann", "birth_date": "1990-07-14"}
    results = client.post(reverse("patient_search"), criteria).content.decode()
    carry = re.search(r'<form method="post" action="([^"]+)" class="actions">(.*?)</form>',
                      results, re.S)
    assert carry and carry.group(1) == reverse("patient_create")  # no query string
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', carry.group(2)))
    hidden.pop("csrfmiddlewaretoken")
    assert hidden == {"depuis_recherche": "1", "birth_name": "Le Bihan", "first_names": "Yann",
                      "birth_date": "1990-07-14"}
    form = client.post(reverse("patient_create"), hidden)
    page = form.content.decode()
    assert form.status_code == 200 and "Les critères de la recherche sont repris" in page
    assert 'value="Le Bihan"' in page and 'value="Yann"' in page and 'value="1990-07-14"' in page
    assert 'class="errors"' not in page  # shown to be completed, not submitted
    assert not Patient.objects.for_lab(world.lab_a).exists()


def test_a_role_that_cannot_register_is_not_offered_the_carry(world):
    client = sign_in(Client(), world.dpo)
    page = client.post(reverse("patient_search"), {"name": "Le Bihan",
                                                   "birth_date": "1990-07-14"})
    assert "depuis_recherche" not in page.content.decode()


def test_a_test_is_picked_by_name_with_the_keyboard_only(front_office):
    client = sign_in(Client(), front_office.frontdesk)
    # Typing a name in the search box (an <input type="search">, Enter also searches) ...
    found = client.get(reverse("test_search"), {"q": "ferritine"}).content.decode()
    button = re.search(r'<button type="button" aria-label="([^"]+)"[^>]*'
                       r"hx-vals='\{\"add\": \"(\w+)\"\}'", found)
    # ... lists real <button>s (reached with Tab, pressed with Enter or Space) that say which
    # test they add, and pressing one puts its code in the codes field.
    assert button and button.group(2) == "1213" and "Ferritine" in button.group(1)
    added = client.post(reverse("order_tests_preview"), {"tests": "1104", "add": "1213"})
    assert 'value="1104 1213"' in added.content.decode()
