"""End to end: an account made by `etanche users create` and activated by its person logs in
with password + TOTP only."""

import time
from io import StringIO

import pytest
from django.core.management import call_command

from etanche.accounts.models import User
from tests.activation import activate
from tests.personas import code_from_uri, journal_actions, make_lab, next_code

CHOSEN_PASSWORD = "Trois-petits-chats-2024!"  # noqa: S105


@pytest.fixture
def provisioned(db):
    lab = make_lab("lab-e2e")
    out = StringIO()
    call_command("users", "create", "lucie.moreau", "--lab", "lab-e2e", "--role", "frontdesk",
                 "--name", "Lucie Moreau", "--email", "lucie.moreau@example.invalid",
                 stdout=out)
    text = out.getvalue()
    _client, _page, uri = activate(text.strip().splitlines()[-1], CHOSEN_PASSWORD)
    return lab, CHOSEN_PASSWORD, uri, text


def _login(client, password):
    return client.post("/login/", {"username": "lucie.moreau", "password": password})


def test_it_prints_an_activation_link_and_no_credential(provisioned):
    _, password, uri, text = provisioned
    assert "password:" not in text and "otpauth" not in text
    assert "/activation/?jeton=" in text.strip().splitlines()[-1]
    assert uri.startswith("otpauth://totp/") and "secret=" in uri
    user = User.objects.get(username="lucie.moreau")
    assert user.password.startswith("argon2$argon2id$")
    assert password not in user.password


def test_it_logs_in_only_with_password_and_totp(client, provisioned):
    lab, password, uri, _ = provisioned

    response = _login(client, password)
    assert response.status_code == 302 and response["Location"] == "/connexion/code/"
    # The password alone opens nothing.
    for path in ("/", "/compte/", "/equipe/"):
        assert client.get(path)["Location"] == "/connexion/code/", path

    wrong = client.post("/connexion/code/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "Code incorrect" in wrong.content.decode()
    time.sleep(1.1)  # django-otp's own throttle: 1 s after one failure, doubling

    # The next step's code: the one typed at activation is spent.
    response = client.post("/connexion/code/", {"code": next_code(uri)})
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Lucie" in home.content.decode()

    actions = journal_actions(lab)
    assert {"user-create", "login-failed", "login", "password-change", "mfa-enrol"} <= set(
        actions)


def test_it_refuses_a_totp_from_another_secret(client, provisioned):
    _, password, _, _ = provisioned
    other = "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=30&digits=6"
    _login(client, password)
    response = client.post("/connexion/code/", {"code": code_from_uri(other)})
    assert response.status_code == 200
    assert client.get("/")["Location"] == "/connexion/code/"


def test_it_rejects_the_half_login_after_five_minutes(client, provisioned):
    _, password, uri, _ = provisioned
    _login(client, password)
    session = client.session
    session["accounts.password_at"] -= 301
    session.save()
    response = client.post("/connexion/code/", {"code": code_from_uri(uri)})
    assert response["Location"] == "/login/"
    assert not User.objects.get(username="lucie.moreau").session_records.exists()


def test_a_demo_account_logs_in_with_the_credentials_file(client, db):
    from etanche.ops import demo

    demo.create_demo()
    rows = [line.split("\t") for line in demo.credentials_path().read_text().splitlines()
            if not line.startswith("#")]
    username, role, password, uri = next(r for r in rows if r[1] == "labadmin")
    client.post("/login/", {"username": username, "password": password})
    response = client.post("/connexion/code/", {"code": code_from_uri(uri)})
    assert response["Location"] == "/connexion/mot-de-passe/"
