"""Retention: exactly the records past their period go, with their requests, specimens,
versions and index rows; nothing under a legal hold (issue 23, item 5)."""

import io
import json
import sys
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from etanche.accounts.models import SealedTOTPDevice
from etanche.breach import services as breach
from etanche.journal.models import Action, Entry
from etanche.ops import retention as ops_retention
from etanche.orders.models import Order, Specimen
from etanche.patients import retention
from etanche.patients import services as patients
from etanche.patients.models import Patient, PatientIndex, PatientVersion
from etanche.rights import services as rights
from tests.orders.helpers import make_order, make_patient
from tests.personas import totp_now

OLD = timezone.now() - timedelta(days=365 * 30)


def _age(patient_ids, moment=OLD):
    Patient.objects.filter(pk__in=patient_ids).update(updated_at=moment)
    Order.objects.filter(patient_id__in=patient_ids).update(status_changed_at=moment,
                                                             created_at=moment)


@pytest.fixture
def lab_of_old_records(world):
    lab, user = world.lab_a, world.frontdesk
    made = {name: make_patient(lab, user, birth_name=name, birth_date="1950-01-01")
            for name in ("ANCIEN", "RECENT", "TENU", "FUSIONNE", "SURVIVANT")}
    made["MINEUR"] = make_patient(lab, user, birth_name="MINEUR",
                                  birth_date=(date.today() - timedelta(days=365 * 20)).isoformat())
    for patient in made.values():
        make_order(lab, user, patient)
    patients.update_patient(lab, user, made["ANCIEN"].pk, {"email": "a@example.org"},
                            reason="test")
    patients.merge_patients(lab, user, made["SURVIVANT"].pk, made["FUSIONNE"].pk)
    ids = {name: p.pk for name, p in made.items()}
    _age([pk for name, pk in ids.items() if name != "RECENT"])
    # An old record with a recent request is kept: its last activity is the request's.
    active = make_patient(lab, user, birth_name="ACTIF", birth_date="1950-01-01")
    make_order(lab, user, active)
    Patient.objects.filter(pk=active.pk).update(updated_at=OLD)
    ids["ACTIF"] = active.pk
    return ids


def test_the_dry_run_lists_what_is_due_and_deletes_nothing(world, lab_of_old_records):
    ids = lab_of_old_records
    rights.record_request(world.lab_a, world.dpo, ids["TENU"], "erasure", identity_check="CNI")
    report = ops_retention.run(world.lab_a, dry_run=True)
    assert set(report.due) == {ids["ANCIEN"], ids["SURVIVANT"]}
    assert Patient.objects.count() == 7 and report.held == 1


def test_it_deletes_exactly_what_is_due_with_everything_attached(world, lab_of_old_records):
    ids = lab_of_old_records
    rights.record_request(world.lab_a, world.dpo, ids["TENU"], "erasure", identity_check="CNI")
    before_specimens = Specimen.objects.count()
    report = ops_retention.run(world.lab_a)
    gone = {ids["ANCIEN"], ids["SURVIVANT"], ids["FUSIONNE"]}
    assert not Patient.objects.filter(pk__in=gone).exists()
    assert set(Patient.objects.values_list("pk", flat=True)) == {
        ids["RECENT"], ids["TENU"], ids["MINEUR"], ids["ACTIF"]}
    assert not Order.objects.filter(patient_id__in=gone).exists()
    assert Specimen.objects.count() == before_specimens - report.counts["specimens"] > 0
    assert not PatientIndex.objects.filter(patient_id__in=gone).exists()
    assert not PatientVersion.objects.exists()
    assert report.counts["patients"] == 2 and report.counts["merged_records"] == 1
    assert report.counts["requests"] == 3
    entries = Entry.objects.filter(action=Action.RETENTION)
    assert {e.object_id for e in entries if e.object_type == "patient"} == {
        str(pk) for pk in gone}
    summary = json.loads(entries.get(object_type="lab").detail)
    assert summary["requests"] == 3 and "ANCIEN" not in json.dumps(summary)


def test_a_breach_case_holds_its_patients(world, lab_of_old_records):
    ids = lab_of_old_records
    case = breach.open_case(world.lab_a, world.dpo, title="Fuite")
    sealed = case.get_sealed()
    sealed["patient_ids"] = [ids["ANCIEN"]]
    case.set_sealed(sealed)
    case.save()
    assert ids["ANCIEN"] in ops_retention.held_ids(world.lab_a)
    assert ids["ANCIEN"] not in ops_retention.run(world.lab_a, dry_run=True).due


def test_a_hold_on_a_merged_record_keeps_its_survivor(world, lab_of_old_records):
    ids = lab_of_old_records
    due = retention.due(world.lab_a, held={ids["FUSIONNE"]}, activity={})
    assert ids["SURVIVANT"] not in due


def test_the_period_is_per_lab_and_the_command_reports(world, lab_of_old_records):
    retention.set_policy(world.lab_a, world.labadmin, record_years=40, minor_until_age=28)
    assert ops_retention.run(world.lab_a, dry_run=True).due == []
    out = io.StringIO()
    call_command("retention", "run", "--lab", world.lab_a.slug, "--dry-run", stdout=out)
    assert "40 years" in out.getvalue() and "configured" in out.getvalue()
    assert Patient.objects.count() == 7
    out = io.StringIO()
    call_command("retention", "run", "--all-labs", stdout=out)
    assert "lab lab-b" in out.getvalue()


def test_a_lab_admin_sets_the_periods_with_the_cli(world, monkeypatch):
    def run(user, *args):
        code = totp_now(SealedTOTPDevice.objects.get(user=user))
        monkeypatch.setattr(sys, "stdin", io.StringIO(code + "\n"))
        out = io.StringIO()
        call_command("retention", "set", "--lab", world.lab_a.slug, "--by", user.username,
                     *args, stdout=out)
        return out.getvalue()

    assert "30 years" in run(world.labadmin, "--years", "30")
    assert retention.policy(world.lab_a).record_years == 30
    assert retention.policy(world.lab_b).configured is False
    with pytest.raises(CommandError, match="lacks"):
        run(world.frontdesk, "--years", "2")
    entry = Entry.objects.get(object_type="retention_policy")
    assert entry.user_id == world.labadmin.pk
