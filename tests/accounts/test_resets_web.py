"""The lab admin resets a member's password or second factor from the member page."""

import re

import pytest
from django.core import mail
from django.test import Client

from etanche.accounts import services
from etanche.accounts.models import Membership, Role
from etanche.journal.models import Entry
from tests.personas import sign_in

RESET_PASSWORD = "/equipe/{pk}/mot-de-passe/"
RESET_MFA = "/equipe/{pk}/double-facteur/"
VIEWS = [RESET_PASSWORD, RESET_MFA]


@pytest.fixture
def admin(world):
    return sign_in(Client(), world.labadmin, sudo=True)


def _url(world, view, user=None):
    return view.format(pk=world.membership(user or world.frontdesk).pk)


def _entry(action, user):
    return Entry.objects.get(action=action, object_id=str(user.pk))


def test_it_offers_both_resets_on_the_member_page(admin, world):
    page = admin.get(f"/equipe/{world.membership(world.frontdesk).pk}/").content.decode()
    assert "Réinitialiser le mot de passe" in page
    assert "Réinitialiser la double authentification" in page


def test_it_resets_the_password_and_mails_the_link_to_the_person(admin, world):
    user = world.frontdesk
    victim = sign_in(Client(), user)
    response = admin.post(_url(world, RESET_PASSWORD))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert user.email in page and 'class="secret"' not in page
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert victim.get("/compte/")["Location"].startswith("/login/")
    entry = _entry("password-change", user)
    assert entry.user_id == world.labadmin.pk and entry.lab_id == world.lab_a.pk
    assert '"via":"web"' in entry.detail.replace(" ", "")
    (sent,) = [m for m in mail.outbox if "jeton=" in m.body]
    assert sent.to == [user.email] and "/activation/?jeton=" in sent.body
    token = re.search(r"jeton=(\S+)", sent.body).group(1)
    assert token not in page and token not in entry.detail


def test_it_resets_the_second_factor(admin, world):
    user = world.biologist
    user.set_password("Une-Tasse-de-the-vert-7")
    user.save()
    services.regenerate_recovery_codes(user)
    victim = sign_in(Client(), user)
    response = admin.post(_url(world, RESET_MFA, user), follow=True)
    assert "Double authentification réinitialisée" in response.content.decode()
    assert [m.to for m in mail.outbox if "jeton=" in m.body] == [[user.email]]
    assert services.confirmed_totp(user) is None
    assert services.recovery_codes_left(user) == 0
    assert victim.get("/compte/")["Location"].startswith("/login/")
    entry = Entry.objects.get(action="mfa-reset", object_id=str(user.pk),
                              user_id=world.labadmin.pk)
    assert '"device":"all"' in entry.detail.replace(" ", "")
    client = Client()
    response = client.post("/login/", {"username": user.username,
                                       "password": "Une-Tasse-de-the-vert-7"})
    assert response["Location"] == "/connexion/double-facteur/"


@pytest.mark.parametrize("view", VIEWS)
def test_it_needs_a_fresh_reauthentication(world, view):
    admin = sign_in(Client(), world.labadmin, sudo=False)
    before = world.frontdesk.password
    response = admin.post(_url(world, view))
    assert response["Location"].startswith("/compte/confirmation/?next=")
    world.frontdesk.refresh_from_db()
    assert world.frontdesk.password == before
    assert services.confirmed_totp(world.frontdesk) is not None


@pytest.mark.parametrize("view", VIEWS)
def test_it_refuses_oneself_and_accounts_of_another_lab_too(admin, world, view):
    own = admin.post(_url(world, view, world.labadmin), follow=True).content.decode()
    assert "propre compte" in own
    # A frontdesk here who is lab admin elsewhere: a reset would hand over lab B.
    Membership.objects.create(user=world.frontdesk, lab=world.lab_b, role=Role.LABADMIN)
    before = world.frontdesk.password
    shared = admin.post(_url(world, view), follow=True).content.decode()
    assert "autre laboratoire" in shared
    world.frontdesk.refresh_from_db()
    assert world.frontdesk.password == before
    assert services.confirmed_totp(world.frontdesk) is not None
    assert not Entry.objects.filter(action__in=["password-change", "mfa-reset"]).exists()
