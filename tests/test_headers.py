import pytest


@pytest.fixture
def login_page(client, db):
    return client.get("/login/")


def test_it_sets_a_strict_content_security_policy(login_page):
    csp = login_page["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


def test_it_forbids_framing_and_sniffing(login_page):
    assert login_page["X-Frame-Options"] == "DENY"
    assert login_page["X-Content-Type-Options"] == "nosniff"
    assert login_page["Referrer-Policy"] == "same-origin"


def test_it_forbids_caching_pages(login_page):
    assert "no-store" in login_page["Cache-Control"]


def test_it_marks_cookies_secure_httponly_samesite(login_page):
    cookie = login_page.cookies["csrftoken"]
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"


def test_it_uses_secure_session_cookie_settings(settings):
    assert settings.SESSION_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Strict"


def test_it_renders_the_login_page_in_french(login_page):
    html = login_page.content.decode()
    assert login_page.status_code == 200
    assert '<html lang="fr">' in html
    assert "Connexion" in html and "Mot de passe" in html
