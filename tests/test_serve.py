"""`etanche serve` runs gunicorn and the whole stack answers over real HTTP."""

import urllib.error
import urllib.request

import pytest

from tests.cli_helpers import clean_env, run_etanche
from tests.servers import running_server


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = clean_env(tmp_path_factory.mktemp("serve") / "var")
    assert run_etanche("init", env=env).returncode == 0
    with running_server(env) as base:
        yield base


def _get(url):
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        return opener.open(url, timeout=5)
    except urllib.error.HTTPError as exc:
        return exc


def test_it_serves_healthz_with_gunicorn(server):
    response = _get(server + "/healthz")
    assert response.status == 200
    assert response.headers["Server"] == "gunicorn"  # no version number leaked
    assert response.read() == b"ok\n"


def test_it_redirects_anonymous_home_to_login(server):
    response = _get(server + "/")
    assert response.status == 302
    assert response.headers["Location"] == "/login/?next=/"


def test_it_renders_the_login_page(server):
    response = _get(server + "/login/")
    assert response.status == 200
    assert "Connexion" in response.read().decode()
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_it_serves_static_files(server):
    response = _get(server + "/static/etanche/etanche.css")
    assert response.status == 200
