"""`etanche users reset-password|reset-mfa`: journaled with the operator, a link for the person."""

import getpass
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from etanche.accounts import services
from etanche.journal import actor as journal_actor
from etanche.journal.models import Entry
from tests.activation import activate
from tests.personas import next_code, sign_in

NEW_PASSWORD = "Sept-grenouilles-vertes-au-lavoir"  # noqa: S105


@pytest.fixture
def as_cli(monkeypatch):
    # What the `etanche` entry point does: entries without a user name the OS user.
    monkeypatch.setattr(journal_actor, "_cli", True)
    monkeypatch.setenv("ETANCHE_OPERATOR", "Ops Ticket 42")
    return f"cli:{getpass.getuser()} (Ops Ticket 42)"


def _call(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _last(action, user):
    return Entry.objects.filter(action=action, object_id=str(user.pk)).order_by("-at_us").first()


def test_it_ends_the_password_and_prints_an_activation_link_last(world, as_cli):
    user = world.frontdesk
    victim = sign_in(Client(), user)
    out = _call("users", "reset-password", user.username)
    link = out.strip().splitlines()[-1]
    assert "/activation/?jeton=" in link and "password:" not in out
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert victim.get("/compte/")["Location"].startswith("/login/")

    entry = _last("password-change", user)
    assert entry.actor == as_cli and entry.user_id is None
    assert entry.lab_id == world.lab_a.pk
    assert '"reset":true' in entry.detail.replace(" ", "")
    assert link.split("jeton=")[1] not in entry.detail

    _client, _page, uri = activate(link, NEW_PASSWORD)
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": NEW_PASSWORD})
    assert response["Location"] == "/connexion/code/"
    response = client.post("/connexion/code/", {"code": next_code(uri)})
    assert response["Location"] == "/"


def test_it_resets_the_second_factor_so_the_user_enrols_again(world, as_cli):
    user = world.biologist
    password = "Une-Tasse-de-the-vert-7"
    user.set_password(password)
    user.save()
    services.regenerate_recovery_codes(user)
    victim = sign_in(Client(), user)
    out = _call("users", "reset-mfa", user.username)
    assert "2 device(s) removed" in out
    assert "/activation/?jeton=" in out.strip().splitlines()[-1]
    assert services.confirmed_totp(user) is None
    assert services.recovery_codes_left(user) == 0
    assert victim.get("/compte/")["Location"].startswith("/login/")
    entry = _last("mfa-reset", user)
    assert entry.actor == as_cli and entry.user_id is None

    # With their own password the person may also enrol at the login step.
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": password})
    assert response["Location"] == "/connexion/double-facteur/"


@pytest.mark.parametrize("action", ["reset-password", "reset-mfa"])
def test_it_refuses_unknown_and_disabled_users_in_one_line(world, action):
    with pytest.raises(CommandError, match="no user 'nobody.here'"):
        _call("users", action, "nobody.here")
    services.disable_user(world.frontdesk, actor=world.labadmin)
    before = world.frontdesk.password
    with pytest.raises(CommandError, match="is disabled") as info:
        _call("users", action, world.frontdesk.username)
    assert "\n" not in str(info.value)
    world.frontdesk.refresh_from_db()
    assert world.frontdesk.password == before
    assert services.confirmed_totp(world.frontdesk) is not None


def test_it_names_the_operator_not_the_disabled_user_on_disable(world, as_cli):
    _call("users", "disable", world.frontdesk.username)
    entry = _last("user-disable", world.frontdesk)
    assert entry.actor == as_cli and entry.user_id is None
