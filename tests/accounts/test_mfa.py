"""Enrolment at first login, recovery codes, replacing the authenticator, re-authentication."""

import re
import time

from django.test import Client

from etanche.accounts import services
from etanche.accounts.models import RecoveryCode, Role, SealedTOTPDevice
from etanche.vault import instance
from tests.personas import journal_actions, make_user, sign_in, totp_now

NEW_PASSWORD = "Une-Tasse-de-the-vert-7"
OLD_PASSWORD = "Un-ancien-mot-de-passe-42"


def _invite(world):
    """An account with a password of its own but no app yet (created by activation links
    since issue 16; here one whose app was reset): it enrols at its next login."""
    user = make_user("emma.lefevre", world.lab_a, Role.BIOLOGIST, password=OLD_PASSWORD,
                     totp=False)
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    return OLD_PASSWORD


def test_an_invited_user_enrols_totp_gets_recovery_codes_then_sets_a_password(world):
    password = _invite(world)
    client = Client()
    response = client.post("/login/", {"username": "emma.lefevre", "password": password})
    assert response["Location"] == "/connexion/double-facteur/"
    assert client.get("/")["Location"] == "/connexion/double-facteur/"

    page = client.get("/connexion/double-facteur/").content.decode()
    assert "<svg" in page and "<script" not in page
    device = SealedTOTPDevice.objects.get(user__username="emma.lefevre", confirmed=False)
    response = client.post("/connexion/double-facteur/", {"code": totp_now(device)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(codes) == 10
    assert client.get("/")["Location"] == "/connexion/mot-de-passe/"
    client.post("/connexion/mot-de-passe/",
                {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert client.get("/").status_code == 200
    assert {"mfa-enrol", "login", "password-change"} <= set(
        journal_actions(world.lab_a))


def test_a_recovery_code_logs_in_once(world):
    user = world.biologist
    user.set_password(NEW_PASSWORD)
    user.save()
    codes = services.regenerate_recovery_codes(user)
    for attempt in range(2):
        client = Client()
        client.post("/login/", {"username": user.username, "password": NEW_PASSWORD})
        response = client.post("/connexion/code/", {"code": codes[0].upper()})
        if attempt == 0:
            assert response["Location"] == "/"
            assert "il vous en reste 9" in client.get("/").content.decode()
        else:
            assert response.status_code == 200  # already used
            assert "Code incorrect" in response.content.decode()
            time.sleep(1.1)  # django-otp throttles after the failure


def test_regenerating_recovery_codes_needs_reauthentication_and_voids_the_old(client, world):
    old = services.regenerate_recovery_codes(world.dpo)
    sign_in(client, world.dpo)
    response = client.post("/compte/codes-de-secours/", HTTP_REFERER="http://testserver/compte/")
    assert response["Location"].startswith("/compte/confirmation/?next=")
    sign_in(client, world.dpo, sudo=True)
    response = client.post("/compte/codes-de-secours/")
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(new) == 10
    old_digests = [instance.recovery_code_digests(c, user_id=world.dpo.pk)[0] for c in old]
    assert not RecoveryCode.objects.filter(digest__in=old_digests).exists()
    assert RecoveryCode.objects.filter(device__user=world.dpo).count() == 10
    assert "mfa-reset" in journal_actions(world.lab_a)


def test_replacing_the_authenticator_keeps_the_old_one_until_confirmed(client, world):
    user = world.auditor
    old = SealedTOTPDevice.objects.get(user=user, confirmed=True)
    sign_in(client, user, sudo=True)
    assert client.get("/compte/double-facteur/").status_code == 200
    pending = SealedTOTPDevice.objects.get(user=user, confirmed=False)
    client.post("/compte/double-facteur/", {"code": "123"})
    assert SealedTOTPDevice.objects.filter(pk=old.pk, confirmed=True).exists()
    time.sleep(1.1)
    response = client.post("/compte/double-facteur/", {"code": totp_now(pending)})
    assert response.status_code == 200
    remaining = SealedTOTPDevice.objects.filter(user=user).values_list("pk", flat=True)
    assert list(remaining) == [pending.pk]
    assert client.get("/compte/").status_code == 200  # still verified, by the new device


def test_sudo_mode_asks_password_and_code_then_returns(client, world):
    user = world.labadmin
    user.set_password(NEW_PASSWORD)
    user.save()
    device = SealedTOTPDevice.objects.get(user=user)
    sign_in(client, user)
    response = client.get("/equipe/nouveau/")
    assert response["Location"] == "/compte/confirmation/?next=%2Fequipe%2Fnouveau%2F"

    wrong = client.post("/compte/confirmation/", {"password": "nope", "code": totp_now(device),
                                                  "next": "/equipe/nouveau/"})
    assert "incorrect" in wrong.content.decode()
    assert client.get("/equipe/nouveau/").status_code == 302
    response = client.post("/compte/confirmation/", {
        "password": NEW_PASSWORD, "code": totp_now(device, 1), "next": "/equipe/nouveau/"})
    assert response["Location"] == "/equipe/nouveau/"
    assert client.get("/equipe/nouveau/").status_code == 200


def test_sudo_mode_expires_after_ten_minutes(client, world):
    sign_in(client, world.labadmin, sudo=True)
    assert client.get("/equipe/nouveau/").status_code == 200
    session = client.session
    session["accounts.sudo_at"] -= 10 * 60 + 1
    session.save()
    assert client.get("/equipe/nouveau/")["Location"].startswith("/compte/confirmation/")


def test_sudo_refuses_an_offsite_next(client, world):
    sign_in(client, world.labadmin)
    page = client.get("/compte/confirmation/?next=https://evil.example/").content.decode()
    assert "evil.example" not in page
