"""Issue 16, item 1: the login steps answer only in their own state, never to a full session.

With a stolen cookie of a fully logged-in session, /connexion/mot-de-passe/
set a new password without the old one and /connexion/double-facteur/ showed
and enrolled a fresh TOTP secret: the account was taken over. Every step view
sent home from a full session: tests/web/test_views.py, from the table.
"""

import time

import pytest
from django.conf import settings
from django.test import Client

from etanche.accounts.models import Role, SealedTOTPDevice, SessionRecord
from etanche.web.middleware import PASSWORD_AT, PENDING_LOGIN_SECONDS
from tests.personas import make_user, sign_in, totp_now
from tests.web.views import STEP_CLIENTS

STOLEN_PASSWORD = "Un-voleur-passe-par-ici-42"  # noqa: S105
OWN_PASSWORD = "Cheval-agrafe-batterie-7!"  # noqa: S105
STEPS = ("otp_verify", "mfa_enrol", "password_first_change")
PATHS = {"otp_verify": "/connexion/code/", "mfa_enrol": "/connexion/double-facteur/",
         "password_first_change": "/connexion/mot-de-passe/"}


def _new_password(password):
    return {"new_password1": password, "new_password2": password}


def test_a_stolen_full_session_cannot_set_a_password_without_the_old_one(world):
    user = world.frontdesk
    user.set_password(OWN_PASSWORD)
    user.save()
    client = sign_in(Client(), user)
    client.post(PATHS["password_first_change"], _new_password(STOLEN_PASSWORD))
    user.refresh_from_db()
    assert not user.check_password(STOLEN_PASSWORD)
    assert user.check_password(OWN_PASSWORD)


def test_a_stolen_full_session_cannot_enrol_a_second_factor(world):
    user = world.frontdesk
    client = sign_in(Client(), user)
    page = client.get(PATHS["mfa_enrol"])
    assert b"otpauth" not in page.content and b"<svg" not in page.content
    assert not SealedTOTPDevice.objects.filter(user=user, confirmed=False).exists()


@pytest.mark.parametrize("pending", STEPS)
def test_a_half_logged_in_session_reaches_only_its_own_step(world, pending):
    client = STEP_CLIENTS[pending](world)
    for step in STEPS:
        response = client.get(PATHS[step])
        if step == pending:
            assert response.status_code == 200, step
        else:
            assert (response.status_code, response["Location"]) == (302, PATHS[pending]), step


def _expired_privileged(world):
    """A lab admin whose session outlived their password's maximum age."""
    user = make_user("odile.garnier", world.lab_a, Role.LABADMIN, password=OWN_PASSWORD)
    client = sign_in(Client(), user)
    session = client.session
    session[PASSWORD_AT] = time.time() - PENDING_LOGIN_SECONDS - 60
    session.save()
    user.password_changed_at = user.date_joined.replace(year=user.date_joined.year - 3)
    user.save(update_fields=["password_changed_at"])
    return user, client


def test_renewing_an_expired_password_later_in_a_session_asks_for_the_current_one(world):
    user, client = _expired_privileged(world)
    assert client.get("/")["Location"] == PATHS["password_first_change"]
    page = client.get(PATHS["password_first_change"])
    assert b'name="old_password"' in page.content
    refused = client.post(PATHS["password_first_change"], _new_password(STOLEN_PASSWORD))
    assert refused.status_code == 200
    user.refresh_from_db()
    assert user.check_password(OWN_PASSWORD)
    done = client.post(PATHS["password_first_change"],
                       {"old_password": OWN_PASSWORD, **_new_password(STOLEN_PASSWORD)})
    assert done["Location"] == "/"
    user.refresh_from_db()
    assert user.check_password(STOLEN_PASSWORD)


def test_the_password_just_typed_at_login_counts_as_the_current_one(world):
    user = make_user("odile.garnier", world.lab_a, Role.FRONTDESK, password=OWN_PASSWORD)
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    client = Client()
    client.post("/login/", {"username": user.username, "password": OWN_PASSWORD})
    device = SealedTOTPDevice.objects.get(user=user)
    assert client.post(PATHS["otp_verify"], {"code": totp_now(device)})["Location"] == (
        PATHS["password_first_change"])
    page = client.get(PATHS["password_first_change"])
    assert b'name="old_password"' not in page.content
    done = client.post(PATHS["password_first_change"], _new_password(STOLEN_PASSWORD))
    assert done["Location"] == "/"


def _cookie(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _with_cookie(key: str) -> Client:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client


def test_a_session_key_fixed_before_the_totp_step_is_dead_after_it(world):
    # Issue 16, item 11: whoever learnt the half-logged-in key must not ride the full session.
    user = make_user("odile.garnier", world.lab_a, Role.FRONTDESK, password=OWN_PASSWORD)
    victim = Client()
    victim.post("/login/", {"username": user.username, "password": OWN_PASSWORD})
    fixed = _cookie(victim)
    device = SealedTOTPDevice.objects.get(user=user)
    assert victim.post(PATHS["otp_verify"], {"code": totp_now(device)})["Location"] == "/"
    assert _cookie(victim) != fixed
    assert victim.get("/compte/").status_code == 200
    response = _with_cookie(fixed).get("/compte/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/compte/")
    assert SessionRecord.objects.filter(user=user, ended_at__isnull=True).count() == 1
    assert victim.get("/compte/").status_code == 200
