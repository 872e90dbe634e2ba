"""In Chromium: an anonymous visitor lands on a French login page that works under our CSP."""

import pytest

from tests.browser import chromium_page
from tests.cli_helpers import clean_env, run_etanche
from tests.servers import running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = clean_env(tmp_path_factory.mktemp("browser") / "var")
    assert run_etanche("init", env=env).returncode == 0
    with running_server(env) as base:
        yield base


def test_it_sends_an_anonymous_visitor_to_the_login_page(server):
    with chromium_page() as (page, problems):
        page.goto(server + "/")
        assert page.url == server + "/login/?next=/"
        assert page.title() == "Connexion · Étanche"
        assert page.get_by_label("Identifiant").is_visible()
        assert page.get_by_label("Mot de passe").is_visible()
        # The stylesheet loaded despite the strict CSP: the page is styled.
        colour = page.eval_on_selector(".brand", "e => getComputedStyle(e).color")
        assert colour == "rgb(11, 92, 173)"
        assert problems == []


def test_it_refuses_a_wrong_password_in_french(server):
    with chromium_page() as (page, problems):
        page.goto(server + "/login/")
        page.get_by_label("Identifiant").fill("claire.dubois")
        page.get_by_label("Mot de passe").fill("not the password")
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_load_state()
        assert "Identifiant ou mot de passe incorrect." in page.content()
        assert problems == []
