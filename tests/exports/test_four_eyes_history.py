"""Issue 16, item 3 (b, c): four eyes that one lab admin cannot fake, two pairs for a large export.

The attack: the lab admin makes (or takes over) a second account, then approves
their own request of every patient with it. Even without the credentials
(tests/accounts/test_activation.py), an account the requester created, reset,
unlocked or gave its role to recently, or any account younger than 7 days, is
not a second person for the rule; and above a threshold two approvers are
needed.
"""

import io
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from etanche.accounts import services
from etanche.accounts.models import Role, SealedTOTPDevice, User
from etanche.exports import services as exports
from etanche.exports.models import Export, Status
from etanche.journal.chain import micros
from etanche.journal.models import Entry
from etanche.vault.errors import TamperedData
from tests.exports.helpers import requested
from tests.personas import make_user, sign_in, totp_now

pytestmark = pytest.mark.usefixtures("with_patients")
LINKED = "créé, réinitialisé, déverrouillé ou a reçu son rôle"
TOO_YOUNG = "moins de 7 jours"


def _aged(user, days=60):
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=days))
    user.refresh_from_db()
    return user


def _refused(export, approver, match):
    with pytest.raises(exports.ExportRefused, match=match):
        exports.approve_export(export, approver)
    export.refresh_from_db()
    assert export.status == Status.REQUESTED


def test_an_account_the_requester_created_cannot_approve(world, key):
    made = services.create_user(username="hugo.garnier", first_name="Hugo",
                                last_name="Garnier", email="hugo.garnier@example.invalid",
                                lab=world.lab_a, role=Role.BIOLOGIST, actor=world.labadmin)
    fake = _aged(made.user)  # even once old enough: the creation is recent
    SealedTOTPDevice.objects.create(user=fake, name="TOTP", confirmed=True)
    _refused(requested(world, key[1]), fake, LINKED)


@pytest.mark.parametrize("event", ["reset_password", "reset_mfa", "unlock", "role"])
def test_an_account_the_requester_reset_unlocked_or_promoted_cannot_approve(world, key, event):
    victim = world.biologist
    membership = world.membership(victim)
    if event == "reset_password":
        services.reset_member_password(membership, actor=world.labadmin)
    elif event == "reset_mfa":
        services.reset_member_mfa(membership, actor=world.labadmin)
    elif event == "unlock":
        services.unlock(membership, actor=world.labadmin)
    else:
        services.change_role(world.membership(world.frontdesk), Role.BIOLOGIST,
                             actor=world.labadmin)
        victim = world.frontdesk
    _refused(requested(world, key[1]), victim, LINKED)


def test_the_rule_holds_the_other_way_round(world, key):
    # The biologist reset the admin's... no: the admin created the requester's account.
    helper = make_user("lucie.moreau", world.lab_a, Role.BIOLOGIST)
    _aged(helper)
    services.unlock(world.membership(helper), actor=world.dpo)
    export = requested(world, key[1], by=helper)
    _refused(export, world.dpo, LINKED)
    exports.approve_export(export, world.biologist)


def test_an_account_younger_than_7_days_cannot_approve(world, key):
    young = make_user("lucie.moreau", world.lab_a, Role.BIOLOGIST)
    _aged(young, days=6)
    _refused(requested(world, key[1]), young, TOO_YOUNG)
    _aged(young, days=8)
    exports.approve_export(requested(world, key[1]), young)


def test_links_older_than_30_days_no_longer_count(world, key):
    services.reset_member_password(world.membership(world.biologist), actor=world.labadmin)
    old = micros(timezone.now() - timedelta(days=31))
    Entry.objects.filter(object_type="accounts.User",
                         object_id=str(world.biologist.pk)).update(at_us=old)
    exports.approve_export(requested(world, key[1]), world.biologist)


def test_the_web_says_why_in_french(world, key):
    services.reset_member_mfa(world.membership(world.biologist), actor=world.labadmin)
    SealedTOTPDevice.objects.create(user=world.biologist, name="TOTP", confirmed=True)
    export = requested(world, key[1])
    client = sign_in(Client(), world.biologist, sudo=True)
    page = client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "Approuver et chiffrer" not in page
    response = client.post(reverse("export_approve", args=[export.pk]), follow=True)
    assert LINKED in response.content.decode()


# --- a large export needs two approvers ----------------------------------------------------

@override_settings(ETANCHE_EXPORT_SECOND_APPROVER_OVER=2)
def test_above_the_threshold_two_distinct_approvers_are_needed(world, key):
    export = requested(world, key[1])  # three patients > 2
    exports.approve_export(export, world.biologist)
    export.refresh_from_db()
    assert export.status == Status.REQUESTED and export.first_approved_by == world.biologist
    assert exports.approvals(export) == (1, 2)
    with pytest.raises(exports.ExportRefused, match="déjà approuvé"):
        exports.approve_export(export, world.biologist)
    with pytest.raises(exports.ExportRefused, match="propre demande"):
        exports.approve_export(export, world.labadmin)
    exports.approve_export(export, world.dpo)
    export.refresh_from_db()
    assert export.status == Status.APPROVED and export.decided_by == world.dpo


@override_settings(ETANCHE_EXPORT_SECOND_APPROVER_OVER=2)
def test_below_the_threshold_one_approver_is_enough(world, key):
    export = requested(world, key[1], selection="list", ids=[world.patients[0].pk])
    assert exports.approvals(export) == (0, 1)
    exports.approve_export(export, world.biologist)
    export.refresh_from_db()
    assert export.status == Status.APPROVED


@override_settings(ETANCHE_EXPORT_SECOND_APPROVER_OVER=2)
def test_the_page_and_the_cli_show_one_approval_of_two(world, key, monkeypatch):
    export = requested(world, key[1])
    monkeypatch.setattr(sys, "stdin", io.StringIO(
        totp_now(SealedTOTPDevice.objects.get(user=world.biologist)) + "\n"))
    out = io.StringIO()
    call_command("export", "approve", str(export.pk), "--by", world.biologist.username,
                 stdout=out)
    assert "1 approbation sur 2" in out.getvalue()
    export.refresh_from_db()
    assert export.status == Status.REQUESTED
    client = sign_in(Client(), world.dpo, sudo=True)
    page = client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "1 approbation sur 2" in page and "Approuver et chiffrer" in page
    client.post(reverse("export_approve", args=[export.pk]))
    export.refresh_from_db()
    assert export.status == Status.APPROVED


@override_settings(ETANCHE_EXPORT_SECOND_APPROVER_OVER=2)
def test_a_first_approval_written_in_the_database_is_refused(world, key):
    export = requested(world, key[1])
    Export.objects.filter(pk=export.pk).update(first_approved_by=world.dpo)
    with pytest.raises(TamperedData):
        exports.approve_export(export, world.biologist)
    assert Export.objects.get(pk=export.pk).status == Status.REQUESTED
