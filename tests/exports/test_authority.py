"""Who may act on exports: checked once by the entry point, four eyes by the one function.

The web's `require_permission` is proven by tests/exports/test_views.py; here
the CLI's `acting_member` and `exports.check_four_eyes`, which approve and
refuse apply whoever calls them.
"""

import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from etanche.accounts.models import SealedTOTPDevice
from etanche.accounts.permissions import Perm
from etanche.exports import services as exports
from etanche.exports.models import Export, Status
from etanche.ops.authority import acting_member
from etanche.ops.management.commands.export import Command as ExportCommand
from tests.exports.helpers import produced, requested
from tests.personas import totp_now


def _run(monkeypatch, user, *args):
    code = totp_now(SealedTOTPDevice.objects.get(user=user))
    monkeypatch.setattr(sys, "stdin", io.StringIO(code + "\n"))
    call_command("export", *args, stdout=io.StringIO())


@pytest.mark.parametrize("who", ["frontdesk", "auditor", "outsider_admin"])
def test_the_cli_refuses_a_request_without_the_permission(world, key, monkeypatch, who):
    user = getattr(world, who)
    with pytest.raises(CommandError, match=f"lacks the {Perm.EXPORT_REQUEST} permission"):
        _run(monkeypatch, user, "create", "--lab", "lab-a", "--profile", "transfer",
             "--recipient", key[1], "--requested-by", user.username, "--patients", "all")
    assert not Export.objects.exists()


@pytest.mark.parametrize("who", ["labadmin", "frontdesk", "auditor", "outsider_admin"])
def test_the_cli_refuses_a_download_without_the_permission(world, key, monkeypatch, tmp_path,
                                                           who):
    export = produced(world, key[1])
    with pytest.raises(CommandError, match=f"lacks the {Perm.EXPORT_DOWNLOAD} permission"):
        _run(monkeypatch, getattr(world, who), "fetch", str(export.pk), "--by",
             getattr(world, who).username, "--out", str(tmp_path / "x.age"))
    export.refresh_from_db()
    assert export.downloads_done == 0 and not (tmp_path / "x.age").exists()


@pytest.mark.parametrize("who", ["frontdesk", "auditor", "outsider_admin"])
def test_the_cli_refuses_a_purge_without_the_approve_permission(world, key, monkeypatch, who):
    export = produced(world, key[1])
    with pytest.raises(CommandError, match=f"lacks the {Perm.EXPORT_APPROVE} permission"):
        _run(monkeypatch, getattr(world, who), "purge", str(export.pk), "--by",
             getattr(world, who).username)
    export.refresh_from_db()
    assert export.status == Status.PRODUCED


def test_a_command_checks_only_the_permissions_it_declares(world):
    class Undeclared:
        permissions = frozenset({Perm.EXPORT_REQUEST})

    with pytest.raises(RuntimeError, match="without declaring it"):
        acting_member(Undeclared(), world.dpo, world.lab_a, Perm.EXPORT_DOWNLOAD)
    member = acting_member(ExportCommand(), world.dpo, world.lab_a, Perm.EXPORT_DOWNLOAD)
    assert member.user == world.dpo and member.lab == world.lab_a


def test_four_eyes_is_one_function_the_pages_ask_too(world, key):
    export = requested(world, key[1], by=world.biologist)
    assert exports.may_decide(export, world.dpo)
    for user in (world.biologist, world.frontdesk, world.outsider_admin):
        assert not exports.may_decide(export, user)
        with pytest.raises(exports.ExportRefused):
            exports.check_four_eyes(export, user)
    exports.check_four_eyes(export, world.labadmin)
    exports.refuse_export(export, world.dpo, "Destinataire non identifié")
    export.refresh_from_db()
    assert not exports.may_decide(export, world.labadmin)  # decided already
