"""The worker's integrity checks: a tampered journal and a contradicted checkpoint alert."""

import json

import pytest

from etanche.journal import checkpoints, services
from etanche.journal.models import Action, Chain, Entry
from etanche.watch import integrity
from etanche.watch.models import Severity
from tests.watch.helpers import alerts_of

pytestmark = pytest.mark.django_db


def _write(lab, n=3):
    for i in range(n):
        services.record(lab=lab, user=None, action=Action.READ, object_id=i)


def test_an_intact_journal_raises_nothing(world, settings):
    settings.ETANCHE_CHECKPOINT_TARGET = None
    _write(world.lab_a)
    assert integrity.check_now() == 0


def test_a_tampered_entry_alerts_its_lab_only(world, settings):
    settings.ETANCHE_CHECKPOINT_TARGET = None
    _write(world.lab_a)
    chain = Chain.objects.get(name=services.chain_name(world.lab_a))
    Entry.objects.filter(chain=chain, seq=2).update(object_id="999")
    integrity.check_now()
    integrity.check_now()  # the next period: the same alert, counted
    (alert,) = alerts_of(world.lab_a, "journal-verify")
    assert alert.severity == Severity.CRITICAL and alert.count == 2
    assert alerts_of(world.lab_b, "journal-verify") == []


def test_a_checkpoint_the_journal_contradicts_alerts(world, settings, tmp_path):
    _write(world.lab_a)
    [statement] = checkpoints.make_checkpoints(world.lab_a)
    statement["seq"] += 1  # a forged line: its signature fails
    target = tmp_path / "checkpoints.jsonl"
    target.write_text(json.dumps(statement) + "\n")
    settings.ETANCHE_CHECKPOINT_TARGET = f"file:{target}"
    integrity.check_now()
    assert len(alerts_of(world.lab_a, "journal-checkpoint")) == 1


def test_run_if_due_runs_once_a_period(world, settings):
    settings.ETANCHE_CHECKPOINT_TARGET = None
    integrity._last_run["at"] = float("-inf")
    assert integrity.run_if_due(15) == 1
    assert integrity.run_if_due(15) == 0
    assert integrity.run_if_due(0) == 0
