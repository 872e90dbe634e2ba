"""Issue 16, item 6: a read-only copy of the database yields no cookie that opens a session.

django_session held every live session key in clear, joined to usernames by
the session records: one of them set as a cookie opened the search page.
"""

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from etanche.accounts.models import Role, SealedTOTPDevice, SessionRecord
from etanche.accounts.session_store import HashedSession, stored_key
from tests.personas import make_user, totp_now

PASSWORD = "Cheval-agrafe-batterie-7!"  # noqa: S105


def _logged_in(world) -> tuple[Client, object]:
    user = make_user("odile.garnier", world.lab_a, Role.FRONTDESK, password=PASSWORD)
    client = Client()
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    device = SealedTOTPDevice.objects.get(user=user)
    assert client.post("/connexion/code/", {"code": totp_now(device)})["Location"] == "/"
    return client, user


def _session_tables():
    return [model for model in apps.get_models() if "session" in model._meta.db_table]


def _stored_values() -> set[str]:
    """Every text a reader of the session tables (and their records) can copy out."""
    values = set()
    for model in _session_tables():
        fields = [f.attname for f in model._meta.concrete_fields
                  if isinstance(f, (models.CharField, models.TextField))]
        for row in model.objects.values_list(*fields):
            values.update(value for value in row if value)
    return values


def _opens_search(cookie: str) -> bool:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    return client.get(reverse("patient_search")).status_code == 200


def test_no_value_of_a_database_copy_works_as_a_session_cookie(world):
    client, user = _logged_in(world)
    real = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert _opens_search(real)
    assert SessionRecord.objects.filter(user=user, ended_at__isnull=True).exists()
    stolen = _stored_values()
    assert stolen, "the session tables were read"
    assert real not in stolen
    for value in stolen:
        assert not _opens_search(value)
    # The real cookie still works, and the copy did not end it.
    assert client.get(reverse("patient_search")).status_code == 200


def test_a_password_change_still_ends_the_other_sessions_through_their_records(world):
    first, user = _logged_in(world)
    device = SealedTOTPDevice.objects.get(user=user)
    second = Client()
    second.post("/login/", {"username": user.username, "password": PASSWORD})
    second.post("/connexion/code/", {"code": totp_now(device, offset_steps=1)})
    assert second.get(reverse("patient_search")).status_code == 200
    page = first.get("/compte/").content.decode()
    assert page.count("(celle-ci)") == 1
    new = "Trois-petits-chats-2024!"
    first.post("/compte/mot-de-passe/", {"old_password": PASSWORD, "new_password1": new,
                                         "new_password2": new})
    assert second.get(reverse("patient_search"))["Location"].startswith("/login/")
    assert first.get(reverse("patient_search")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_live_sessions_under_their_digest():
    executor = MigrationExecutor(connection)
    before = [("accounts", "0005_throttle_known_clients_usage")]
    executor.migrate(before)
    old = executor.loader.project_state([*before, ("sessions", "0001_initial")]).apps
    clear = old.get_model("sessions", "Session").objects.create(
        session_key="k" * 32, session_data="{}", expire_date=timezone.now())
    user = old.get_model("accounts", "User").objects.create(username="odile.garnier")
    old.get_model("accounts", "SessionRecord").objects.create(
        user=user, session_key=clear.session_key, started_at=timezone.now(),
        last_seen_at=timezone.now())
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert not Session.objects.exists()
    assert HashedSession.objects.filter(session_key=stored_key("k" * 32)).exists()
    assert SessionRecord.objects.get(user_id=user.pk).session_key == stored_key("k" * 32)
