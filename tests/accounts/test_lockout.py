"""Throttling per account (the waits, the journal, the lab admin's unlock); the attacks on
it are tests/accounts/test_throttle.py."""

import html

import pytest

from etanche.accounts import throttle
from etanche.accounts.models import FailureCounter
from tests.personas import journal_actions, make_user, sign_in

PASSWORD = "Cinq-fruits-et-legumes-9"


@pytest.fixture
def victim(world):
    user = make_user("lea.roux", world.lab_a, "frontdesk", password=PASSWORD)
    user.must_change_password = False
    user.save()
    return user


def _try(client, password, username="lea.roux", address="10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password},
                       REMOTE_ADDR=address)


def test_five_failures_make_the_next_attempt_wait_with_a_french_message(client, world, victim):
    for _ in range(4):
        assert "incorrect" in _try(client, "wrong-password").content.decode()
    fifth = html.unescape(_try(client, "wrong-password").content.decode())
    assert "Trop d'échecs de connexion pour ce compte : réessayez dans" in fifth
    # Even the right password is not heard meanwhile, from this place or a new one.
    response = _try(client, PASSWORD, address="10.0.0.2")
    assert response.status_code == 200
    assert "administrateur du laboratoire" in html.unescape(response.content.decode())
    actions = journal_actions(world.lab_a)
    assert actions.count("login-failed") == 6  # five failures, one refusal
    assert actions.count("lockout") == 1


def test_the_counter_table_holds_no_username_or_address(client, world, victim):
    _try(client, "wrong-password")
    keys = list(FailureCounter.objects.values_list("key", flat=True))
    assert len(keys) == 4  # account, account from this address, address, instance
    assert all("lea" not in k and "10.0.0.1" not in k for k in keys)


def test_a_lab_admin_unlocks_the_account(client, world, victim):
    for _ in range(5):
        _try(client, "wrong-password")
    assert throttle.is_throttled("lea.roux")

    admin = sign_in(client.__class__(), world.labadmin, sudo=True)
    membership = world.membership(victim)
    page = admin.get(f"/equipe/{membership.pk}/")
    assert "connexions ralenties" in page.content.decode()
    response = admin.post(f"/equipe/{membership.pk}/deverrouillage/")
    assert response.status_code == 302
    assert not throttle.is_throttled("lea.roux")
    assert "unlock" in journal_actions(world.lab_a)

    assert _try(client, PASSWORD)["Location"] == "/connexion/code/"


def test_the_wait_ends_by_itself(client, world, victim):
    for _ in range(5):
        _try(client, "wrong-password")
    FailureCounter.objects.update(wait_until="2000-01-01T00:00:00Z")
    assert _try(client, PASSWORD)["Location"] == "/connexion/code/"


def test_wrong_totp_codes_count_towards_the_lockout(client, world, victim):
    assert _try(client, PASSWORD)["Location"] == "/connexion/code/"
    for _ in range(4):
        client.post("/connexion/code/", {"code": "000000"}, REMOTE_ADDR="10.0.0.1")
    response = client.post("/connexion/code/", {"code": "000000"}, REMOTE_ADDR="10.0.0.1")
    assert response["Location"] == "/login/"
    assert throttle.is_throttled("lea.roux")


@pytest.mark.django_db(transaction=True)
def test_a_failed_login_is_journaled_even_when_requests_are_atomic(client, world, victim):
    """LOGIN_FAILED is written outside any request transaction, so nothing rolls it back."""
    from django.db import connection

    connection.settings_dict["ATOMIC_REQUESTS"] = True
    try:
        _try(client, "wrong-password")
    finally:
        connection.settings_dict["ATOMIC_REQUESTS"] = False
    assert journal_actions(world.lab_a).count("login-failed") == 1
    for view in ("login_view", "otp_verify", "mfa_enrol"):
        from etanche.web import login

        assert getattr(getattr(login, view), "_non_atomic_requests", None) == {"default"}
