"""Each rule just below and just above its threshold, deduplicated into one alert."""

from datetime import datetime
from unittest import mock

import pytest
from django.db import transaction
from django.test import Client

from etanche.accounts.models import Role
from etanche.journal.models import Action
from etanche.journal.services import record
from etanche.watch import config
from etanche.watch.models import Severity, WatchSettings
from tests.watch.helpers import alerts_of, drain, failed_logins, reads

pytestmark = pytest.mark.django_db


def test_bulk_reads_fire_above_fifty_distinct_patients_not_at_fifty(world):
    reads(world.lab_a, world.frontdesk, range(1000, 1050))
    reads(world.lab_a, world.frontdesk, [1000, 1001])  # the same patients again: no more
    drain()
    assert alerts_of(world.lab_a, "bulk-reads") == []
    reads(world.lab_a, world.frontdesk, [1050])
    drain()
    (alert,) = alerts_of(world.lab_a, "bulk-reads")
    assert (alert.user_id, alert.count, alert.severity) == (world.frontdesk.pk, 51, Severity.HIGH)
    reads(world.lab_a, world.frontdesk, range(2000, 2100))
    drain()
    (again,) = alerts_of(world.lab_a, "bulk-reads")
    assert again.pk == alert.pk and again.count == 151
    assert alerts_of(world.lab_b, "bulk-reads") == []


def test_the_bulk_read_threshold_is_per_role_and_per_lab(world):
    reads(world.lab_a, world.biologist, range(1000, 1080))  # biologists: 100 by default
    drain()
    assert alerts_of(world.lab_a, "bulk-reads") == []
    WatchSettings.objects.create(lab=world.lab_a, thresholds={
        "bulk-reads": {"by_role": {Role.BIOLOGIST: 20}}})
    reads(world.lab_a, world.biologist, [1080])
    drain()
    assert [a.user_id for a in alerts_of(world.lab_a, "bulk-reads")] == [world.biologist.pk]


def test_ten_failed_logins_raise_one_alert_not_ten(world):
    failed_logins(world.lab_a, world.frontdesk, 4)
    drain()
    assert alerts_of(world.lab_a, "login-burst-account") == []
    failed_logins(world.lab_a, world.frontdesk, 6)
    drain()
    (alert,) = alerts_of(world.lab_a, "login-burst-account")
    assert alert.count == 10 and alert.user_id == world.frontdesk.pk
    assert alerts_of(world.lab_a, "mfa-failures") == []


def test_second_factor_failures(world):
    failed_logins(world.lab_a, world.biologist, 2, reason="otp")
    drain()
    assert alerts_of(world.lab_a, "mfa-failures") == []
    failed_logins(world.lab_a, world.biologist, 1, reason="otp")
    drain()
    assert len(alerts_of(world.lab_a, "mfa-failures")) == 1


def test_a_locked_account_and_a_burst_from_one_address(world):
    with transaction.atomic():
        record(lab=world.lab_a, user=None, action=Action.LOCKOUT, object_type="accounts.User",
               object_id=world.frontdesk.pk, detail={"kind": "throttle", "scope": "account"})
        record(lab=None, user=None, action=Action.LOCKOUT,
               detail={"kind": "burst", "scope": "address", "attempts": 20, "minutes": 10})
    drain()
    assert [a.user_id for a in alerts_of(world.lab_a, "account-locked")] == [world.frontdesk.pk]
    # The system chain's burst concerns every lab.
    assert len(alerts_of(world.lab_a, "login-burst-address")) == 1
    assert len(alerts_of(world.lab_b, "login-burst-address")) == 1


def _search(lab, user, results):
    with transaction.atomic():
        record(lab=lab, user=user, action=Action.SEARCH, object_type="patient",
               detail={"criteria": ["name"], "results": results, "shown": []})


def test_enumeration_counts_wide_searches_only(world):
    for _ in range(10):
        _search(world.lab_a, world.frontdesk, 1)
    for _ in range(4):
        _search(world.lab_a, world.frontdesk, 8)
    drain()
    assert alerts_of(world.lab_a, "enumeration") == []
    _search(world.lab_a, world.frontdesk, 8)
    drain()
    assert len(alerts_of(world.lab_a, "enumeration")) == 1


def _export(lab, user, action=Action.EXPORT_REQUEST, **detail):
    with transaction.atomic():
        record(lab=lab, user=user, action=action, object_type="export", object_id=77,
               detail=detail)


PARIS_NIGHT = datetime.fromisoformat("2026-12-01T22:30:00+01:00")
PARIS_DAY = datetime.fromisoformat("2026-12-01T10:30:00+01:00")


def test_exports_outside_opening_hours(world):
    row = config.of(world.lab_a)
    assert config.is_open(row, PARIS_DAY) and not config.is_open(row, PARIS_NIGHT)
    assert not config.is_open(row, datetime.fromisoformat("2026-12-06T10:30:00+01:00"))  # Sun
    with mock.patch("etanche.watch.config.is_open", return_value=True):
        _export(world.lab_a, world.biologist, selection="list", patients=3)
        drain()
    assert alerts_of(world.lab_a, "export-off-hours") == []
    with mock.patch("etanche.watch.config.is_open", return_value=False):
        _export(world.lab_a, world.biologist, Action.EXPORT_DOWNLOAD)
        drain()
    assert len(alerts_of(world.lab_a, "export-off-hours")) == 1


def test_exports_over_n_patients(world):
    with mock.patch("etanche.watch.config.is_open", return_value=True):
        _export(world.lab_a, world.biologist, selection="list", patients=10_000)
        drain()
        assert alerts_of(world.lab_a, "export-large") == []
        _export(world.lab_a, world.biologist, selection="list", patients=10_001)
        drain()
    (alert,) = alerts_of(world.lab_a, "export-large")
    assert alert.count == 10_001


def test_integrity_events_key_rotation_role_and_break_glass(world):
    with transaction.atomic():
        record(lab=world.lab_a, user=world.labadmin, action=Action.USER_UPDATE,
               object_type="accounts.User", object_id=world.frontdesk.pk,
               detail={"role": "biologist", "previous_role": "frontdesk"})
        record(lab=world.lab_a, user=world.labadmin, action=Action.USER_UPDATE,
               object_type="accounts.User", object_id=world.frontdesk.pk,
               detail={"scope": "membership"})
        record(lab=world.lab_a, user=None, action=Action.KEY_ROTATE, object_type="lab",
               object_id=world.lab_a.pk)
        record(lab=world.lab_a, user=world.dpo, action=Action.BREAK_GLASS, object_type="order",
               object_id=5, detail={"reason": "dpo-inquiry"})
    drain()
    assert len(alerts_of(world.lab_a, "role-granted")) == 1
    assert len(alerts_of(world.lab_a, "key-rotation")) == 1
    assert [a.user_id for a in alerts_of(world.lab_a, "break-glass")] == [world.dpo.pk]


def test_each_entry_is_read_once(world):
    failed_logins(world.lab_a, world.frontdesk, 5)
    drain()
    assert drain() == 0
    (alert,) = alerts_of(world.lab_a, "login-burst-account")
    assert alert.count == 5


def test_ten_wrong_passwords_at_the_login_page_raise_one_alert(world, settings):
    settings.ETANCHE_THROTTLE_MAX_SECONDS = 0  # every attempt is checked, none waits
    # The wrong password is what is tested, not Argon2's cost (ten hashes on 2 cores).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client()
    for _ in range(10):
        client.post("/login/", {"username": world.frontdesk.username, "password": "Faux-1234!"})
    drain()
    alerts = alerts_of(world.lab_a, "login-burst-account")
    assert len(alerts) == 1 and alerts[0].user_id == world.frontdesk.pk
    assert alerts[0].count == 10
