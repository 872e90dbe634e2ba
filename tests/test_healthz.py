import pytest


@pytest.mark.django_db
def test_it_answers_ok_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405
