"""Issue 24, item 11: the birthplace by name (INSEE COG communes, former ones, countries)."""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.web.birthplaces import find
from tests.personas import sign_in


def test_communes_and_countries_are_found_by_name_accents_aside():
    assert find("rennes")[0] == {"code": "35238", "label": "Rennes (35)"}
    assert find("Quimper")[0]["code"] == "29232"
    assert any(p["code"] == "99350" for p in find("maroc"))
    assert find("x") == []


@pytest.mark.django_db
def test_the_search_answers_json_to_the_front_desk(world):
    response = sign_in(Client(), world.frontdesk).get(reverse("birthplace_search"),
                                                      {"q": "brest"})
    assert response.status_code == 200
    assert response.json()["results"][0]["code"] == "29019"
    page = sign_in(Client(), world.frontdesk).get(reverse("patient_create")).content.decode()
    assert "birthplace.js" in page and 'data-url="/patients/lieux-de-naissance/"' in page
