"""A vault failure during a request becomes a French error page, never a traceback."""

from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from etanche.vault.errors import MasterKeyWrong, TamperedData
from etanche.web.vault_errors import VaultErrorMiddleware


def _page(exc):
    middleware = VaultErrorMiddleware(lambda request: None)
    return middleware.process_exception(RequestFactory().get("/patients/1/"), exc)


def test_it_shows_an_unavailable_page_for_a_wrong_master_key():
    response = _page(MasterKeyWrong("the master key file:///k is not the one (id file:1)"))
    assert response.status_code == 503
    body = response.content.decode()
    assert "clés de chiffrement sont indisponibles" in body
    assert "file:///k" not in body  # details go to the server log, not to the browser


def test_it_shows_a_damaged_record_page_for_tampered_data():
    response = _page(TamperedData("a sealed patients.patient (id 5) does not open"))
    assert response.status_code == 500
    assert "illisible" in response.content.decode()


def test_it_leaves_other_exceptions_alone():
    assert _page(ValueError("x")) is None


def test_the_page_is_in_the_sites_layout_and_falls_back_to_a_bare_one(db):
    request = RequestFactory().get("/patients/1/")
    request.user = AnonymousUser()
    middleware = VaultErrorMiddleware(lambda request: None)
    framed = middleware.process_exception(request, MasterKeyWrong("no key")).content.decode()
    assert "Revenir à l'accueil" in framed and "Code 503" in framed
    # A request the layout cannot render (no user at all) still gets the French page.
    bare = _page(MasterKeyWrong("no key")).content.decode()
    assert "clés de chiffrement sont indisponibles" in bare
