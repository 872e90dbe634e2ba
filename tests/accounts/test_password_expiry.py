"""Privileged accounts (lab admin, DPO) renew their password; nobody else is ever forced."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from etanche.accounts import services
from tests.cli_helpers import clean_env, run_etanche
from tests.personas import sign_in, totp_now

OLD = "Un-vieux-mot-de-passe-1"
NEW = "Trois-petits-chats-2024!"


def _aged(user, days):
    user.password_changed_at = timezone.now() - timedelta(days=days)
    user.save(update_fields=["password_changed_at"])
    return user


def _who(world, role):
    return getattr(world, role)


@pytest.mark.parametrize("role", ["labadmin", "dpo"])
def test_it_renews_a_privileged_password_past_its_age_at_login(world, role):
    user = _aged(_who(world, role), 366)
    user.set_password(OLD)
    user.save()
    client = Client()
    assert client.post("/login/", {"username": user.username, "password": OLD})[
        "Location"] == "/connexion/code/"
    response = client.post("/connexion/code/", {"code": totp_now(services.confirmed_totp(user))})
    assert response["Location"] == "/connexion/mot-de-passe/"
    for path in ("/", "/compte/", "/journal/"):
        assert client.get(path)["Location"] == "/connexion/mot-de-passe/", path
    page = client.get("/connexion/mot-de-passe/").content.decode()
    assert "plus de 365 jours" in page

    same = client.post("/connexion/mot-de-passe/", {"new_password1": OLD, "new_password2": OLD})
    assert "différent de l&#x27;actuel" in same.content.decode()
    response = client.post("/connexion/mot-de-passe/", {"new_password1": NEW,
                                                        "new_password2": NEW})
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    user.refresh_from_db()
    assert timezone.now() - user.password_changed_at < timedelta(minutes=1)


@pytest.mark.parametrize("role", ["frontdesk", "biologist", "auditor"])
def test_it_never_forces_other_accounts(world, role):
    user = _aged(_who(world, role), 3650)
    assert not services.password_expired(user)
    assert sign_in(Client(), user).get("/compte/").status_code == 200


def test_it_keeps_a_privileged_password_within_its_age(world):
    user = _aged(world.labadmin, 364)
    assert not services.password_expired(user)
    assert sign_in(Client(), user).get("/compte/").status_code == 200


def test_it_reads_the_age_from_settings_and_counts_from_creation_when_unknown(world, settings):
    settings.ETANCHE_PRIVILEGED_PASSWORD_MAX_DAYS = 30
    user = _aged(world.dpo, 31)
    assert services.password_expired(user)
    assert sign_in(Client(), user).get("/compte/")["Location"] == "/connexion/mot-de-passe/"
    user.password_changed_at = None
    user.date_joined = timezone.now() - timedelta(days=29)
    assert not services.password_expired(user)
    user.date_joined = timezone.now() - timedelta(days=31)
    assert services.password_expired(user)


def test_it_follows_the_current_active_role(world):
    user = _aged(world.labadmin, 400)
    assert services.password_expired(user)
    user.memberships.update(role="frontdesk")
    assert not services.password_expired(user)
    user.memberships.update(role="dpo", is_active=False)
    assert not services.password_expired(user)


def test_it_records_the_date_at_creation_and_change(world):
    created = services.create_user(username="hugo.garnier", first_name="Hugo",
                                   last_name="Garnier", email="h@example.invalid",
                                   lab=world.lab_a, role="dpo").user
    assert timezone.now() - created.password_changed_at < timedelta(minutes=1)
    user = _aged(world.labadmin, 400)
    services.change_password(user, NEW)
    user.refresh_from_db()
    assert timezone.now() - user.password_changed_at < timedelta(minutes=1)
    assert not services.password_expired(user)


def test_it_refuses_an_age_below_one_day_at_start(tmp_path):
    env = clean_env(tmp_path / "var", ETANCHE_PRIVILEGED_PASSWORD_MAX_DAYS="0")
    result = run_etanche("--help", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "etanche: configuration error: ETANCHE_PRIVILEGED_PASSWORD_MAX_DAYS must be at least 1")
