"""`etanche alerts` and `etanche canaries`: JSON lines, triage with the DPO's TOTP on stdin."""

import io
import json
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from etanche.accounts.models import SealedTOTPDevice
from etanche.journal.models import Action, Entry
from etanche.watch.models import AlertState, Resolution
from tests.personas import totp_now
from tests.watch.helpers import alerts_of, drain, failed_logins

pytestmark = pytest.mark.django_db


def _run(monkeypatch, command, *args, stdin="") -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _code(user, step=0) -> str:
    return totp_now(SealedTOTPDevice.objects.get(user=user), step) + "\n"


@pytest.fixture
def alert(world):
    failed_logins(world.lab_a, world.frontdesk, 6)
    drain()
    return alerts_of(world.lab_a, "login-burst-account")[0]


def test_list_json_one_object_a_line(world, alert, monkeypatch):
    lines = _run(monkeypatch, "alerts", "list", "--lab", "lab-a", "--json").splitlines()
    row = json.loads(lines[0])
    assert set(row) >= {"id", "rule", "severity", "user", "first_seen", "last_seen", "count",
                        "state"}
    assert (row["id"], row["rule"], row["count"], row["state"]) == (
        alert.pk, "login-burst-account", 6, "open")
    assert _run(monkeypatch, "alerts", "list", "--lab", "lab-b", "--json") == ""


def test_ack_then_close_as_the_dpo_with_their_code(world, alert, monkeypatch):
    _run(monkeypatch, "alerts", "ack", str(alert.pk), "--by", world.dpo.username,
         stdin=_code(world.dpo))
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by_id == world.dpo.pk
    _run(monkeypatch, "alerts", "close", str(alert.pk), "--by", world.dpo.username,
         "--as", "justified", "--comment", "Mot de passe oublié, vérifié par téléphone",
         stdin=_code(world.dpo, 1))  # a code is spent once: the next one
    alert.refresh_from_db()
    assert (alert.state, alert.resolution) == (AlertState.CLOSED, Resolution.JUSTIFIED)
    assert "oublié" in alert.get_sealed()["comment"]
    assert "oublié".encode() not in bytes(alert.sealed)
    assert Entry.objects.filter(action=Action.ALERT_TRIAGE, user_id=world.dpo.pk).count() == 2
    assert _run(monkeypatch, "alerts", "list", "--lab", "lab-a", "--open") == ""


@pytest.mark.parametrize(("who", "stdin", "message"), [
    ("dpo", "", "TOTP code is required"),
    ("dpo", "000000\n", "wrong or expired"),
    ("frontdesk", None, "lacks the alert.triage permission"),
])
def test_triage_refused_in_one_line(world, alert, monkeypatch, who, stdin, message):
    user = getattr(world, who)
    with pytest.raises(CommandError, match=message):
        _run(monkeypatch, "alerts", "ack", str(alert.pk), "--by", user.username,
             stdin=_code(user) if stdin is None else stdin)


def test_the_dpo_of_another_lab_cannot_triage(world, alert, monkeypatch):
    other = world.in_lab_b["dpo"]
    with pytest.raises(CommandError, match="lacks"):
        _run(monkeypatch, "alerts", "ack", str(alert.pk), "--by", other.username,
             stdin=_code(other))


def test_test_without_a_target_says_so(world, monkeypatch, settings):
    settings.ETANCHE_ALERT_EMAIL_TO, settings.ETANCHE_ALERT_SYSLOG = [], ""
    settings.ETANCHE_ALERT_WEBHOOK = ""
    with pytest.raises(CommandError, match="no alert target"):
        _run(monkeypatch, "alerts", "test", "--lab", "lab-a")


def test_canaries_seed_and_count(world, monkeypatch):
    assert "2 canary patient(s)" in _run(monkeypatch, "canaries", "seed", "--lab", "lab-a",
                                         "--count", "2")
    assert _run(monkeypatch, "canaries", "count", "--lab", "lab-a").strip() == "2"
    with pytest.raises(CommandError, match="between 1 and"):
        _run(monkeypatch, "canaries", "seed", "--lab", "lab-a", "--count", "0")
