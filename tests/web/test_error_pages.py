"""Error pages in French, in the site's layout, with a way back (issue 24, item 5)."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

from tests.personas import sign_in

pytestmark = pytest.mark.django_db


def _page(response) -> str:
    text = response.content.decode()
    assert 'lang="fr"' in text and 'class="topbar"' in text  # the site's layout
    assert "Revenir à l'accueil" in text
    for english in ("Not Found", "Forbidden", "Bad Request", "Server Error"):
        assert english not in text
    return text


def test_an_unknown_page_is_a_french_404(world):
    response = sign_in(Client(), world.frontdesk).get("/pas-de-page-ici/",
                                                      HTTP_REFERER="http://127.0.0.1/patients/")
    assert response.status_code == 404
    text = _page(response)
    assert "Page introuvable" in text and "Revenir à la page précédente" in text


def test_a_page_beyond_ones_role_is_a_french_403(world):
    response = sign_in(Client(), world.frontdesk).get(reverse("catalogue"))
    assert response.status_code == 403
    assert "Accès refusé" in _page(response)


def test_a_forged_form_is_a_french_403(world):
    client = sign_in(Client(enforce_csrf_checks=True), world.frontdesk)
    response = client.post(reverse("logout"))
    assert response.status_code == 403
    assert "Le formulaire a expiré" in _page(response)


def test_a_bad_host_is_a_french_400():
    response = Client().get("/login/", HTTP_HOST="ailleurs.invalid")
    assert response.status_code == 400
    assert "Requête incorrecte" in _page(response)


def test_a_server_error_is_a_french_500():
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Erreur du serveur" in _page(response)
