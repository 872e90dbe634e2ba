"""A NUL character in any parameter is refused with a French 400, never a database error."""

import pytest

from tests.personas import sign_in


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_it_refuses_a_nul_character_in_any_parameter(client, world, method):
    sign_in(client, world.frontdesk)
    response = getattr(client, method)("/demandes/analyses/recherche/", {"q": "glyc\x00émie"})
    assert response.status_code == 400
    assert "caractère nul" in response.content.decode()


@pytest.mark.django_db
def test_it_still_sends_an_anonymous_request_to_login(client):
    response = client.get("/patients/", {"x": "\x00"})
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_it_lets_ordinary_values_through(client, world):
    sign_in(client, world.frontdesk)
    assert client.get("/demandes/analyses/recherche/", {"q": "glycémie"}).status_code == 200
