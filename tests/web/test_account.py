"""My account (web/account.py): changing a credential needs the current one, and is told.

Issue 16, item 1: a stolen session must not replace the password, the second
factor or the recovery codes unseen; item 10: the current-password form is
no password oracle.
"""

import time
from base64 import b32encode

import django_otp
import pytest
from django.core import mail
from django.test import Client

from etanche.accounts.models import SealedTOTPDevice
from etanche.journal.models import Action, Entry
from tests.personas import journal_actions, sign_in, totp_now

OWN_PASSWORD = "Cheval-agrafe-batterie-7!"  # noqa: S105
NEW_PASSWORD = "Trois-petits-chats-2024!"  # noqa: S105
# Far more than the throttle lets through before it holds an account.
MANY_GUESSES = 30


@pytest.fixture
def person(world):
    user = world.frontdesk
    user.set_password(OWN_PASSWORD)
    user.save()
    return user


def _change(client, old):
    return client.post("/compte/mot-de-passe/", {
        "old_password": old, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})


def _only_notice(user, words: str):
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == [user.email]
    assert words in notice.subject
    assert "Si ce n'est pas vous" in notice.body
    return notice


def test_replacing_the_second_factor_needs_sudo(person):
    client = sign_in(Client(), person)
    response = client.get("/compte/double-facteur/")
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/confirmation/")
    assert not SealedTOTPDevice.objects.filter(user=person, confirmed=False).exists()


def test_the_old_factor_works_until_the_new_one_is_confirmed(
        person, django_capture_on_commit_callbacks):
    old = SealedTOTPDevice.objects.get(user=person, confirmed=True)
    client = sign_in(Client(), person, sudo=True)
    assert client.get("/compte/double-facteur/").status_code == 200
    new = SealedTOTPDevice.objects.get(user=person, confirmed=False)
    assert django_otp.verify_token(person, old.persistent_id, totp_now(old))
    wrong = client.post("/compte/double-facteur/", {"code": totp_now(old)})
    assert wrong.status_code == 200
    assert SealedTOTPDevice.objects.filter(pk=old.pk, confirmed=True).exists()
    assert mail.outbox == []
    time.sleep(1.1)  # django-otp's own throttle: 1 s after one failure

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/compte/double-facteur/", {"code": totp_now(new)})
    assert done.status_code == 200
    assert not SealedTOTPDevice.objects.filter(pk=old.pk).exists()
    assert SealedTOTPDevice.objects.get(user=person, confirmed=True).pk == new.pk
    notice = _only_notice(person, "application d'authentification")
    assert b32encode(new.bin_key).decode() not in notice.body
    assert "mfa-reset" in journal_actions(person.memberships.get().lab)


def test_a_password_change_is_told_to_the_person_without_the_password(
        person, django_capture_on_commit_callbacks):
    client = sign_in(Client(), person)
    with django_capture_on_commit_callbacks(execute=True):
        assert _change(client, OWN_PASSWORD)["Location"] == "/compte/"
    notice = _only_notice(person, "mot de passe")
    assert NEW_PASSWORD not in notice.body and OWN_PASSWORD not in notice.body
    assert "password-change" in journal_actions(person.memberships.get().lab)


def test_new_recovery_codes_are_told_to_the_person_without_the_codes(
        person, django_capture_on_commit_callbacks):
    client = sign_in(Client(), person, sudo=True)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/compte/codes-de-secours/")
    codes = page.context["codes"]
    notice = _only_notice(person, "codes de secours")
    assert not any(code in notice.body for code in codes)


def test_wrong_current_passwords_are_journaled_and_throttled(person):
    # Issue 16, item 10: a session thief must not test passwords here for free, or unseen.
    client = sign_in(Client(), person)
    lab = person.memberships.get().lab
    failed = Entry.objects.filter(lab_id=lab.pk, action=Action.PASSWORD_CHANGE,
                                  outcome="failed")
    for attempt in range(MANY_GUESSES):
        response = _change(client, f"Pas-le-bon-{attempt}-mot-de-passe")
        if response.status_code == 302:
            break
        assert "Mot de passe actuel incorrect" in response.content.decode()
        assert failed.count() == attempt + 1
    else:
        pytest.fail("wrong current passwords are never throttled")
    assert response["Location"] == "/login/"
    assert attempt >= 1  # some free failures: a typo is no lock
    assert {entry.object_id for entry in failed} == {str(person.pk)}

    # The throttle holds the account: a new session's right password is not even tried.
    client = sign_in(Client(), person)
    refused = _change(client, OWN_PASSWORD)
    assert (refused.status_code, refused["Location"]) == (302, "/login/")
    person.refresh_from_db()
    assert person.check_password(OWN_PASSWORD)
    assert client.get("/compte/")["Location"].startswith("/login/")
