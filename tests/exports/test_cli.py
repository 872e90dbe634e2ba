"""`etanche export`: named users confirm with their TOTP code on stdin; same rules as the web."""

import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from etanche.accounts.models import SealedTOTPDevice
from etanche.exports import crypto
from etanche.exports.models import Export, Status
from etanche.journal.models import Action, Entry
from tests.exports.helpers import decrypt
from tests.personas import totp_now

pytestmark = pytest.mark.usefixtures("with_patients")


def _code(user, step=0) -> str:
    return totp_now(SealedTOTPDevice.objects.get(user=user), step)


def _run(monkeypatch, *args, stdin="") -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("export", *args, stdout=out)
    return out.getvalue()


def _create(monkeypatch, world, recipient, *extra, user=None):
    user = user or world.labadmin
    out = _run(monkeypatch, "create", "--lab", "lab-a", "--profile", "transfer",
               "--recipient", recipient, "--requested-by", user.username, *extra,
               stdin=_code(user) + "\n")
    return Export.objects.get(pk=int(out.splitlines()[-1]))


def test_it_creates_approves_and_fetches_with_named_users(world, key, monkeypatch, tmp_path):
    identity, recipient = key
    export = _create(monkeypatch, world, recipient, "--patients", "all", "--expires", "30m",
                     "--downloads", "2", "--format", "csv", "--shared-download")
    assert export.requested_by == world.labadmin and export.downloads_allowed == 2
    assert 29 * 60 < (export.expires_at - export.requested_at).total_seconds() <= 30 * 60
    _run(monkeypatch, "approve", str(export.pk), "--by", world.biologist.username,
         stdin=_code(world.biologist) + "\n")
    export.refresh_from_db()
    assert export.status == Status.PRODUCED
    out = tmp_path / "transfer.csv.age"
    _run(monkeypatch, "fetch", str(export.pk), "--by", world.dpo.username, "--out", str(out),
         stdin=_code(world.dpo) + "\n")
    assert decrypt(out, identity).decode("utf-8-sig").startswith("patient_id,")
    entries = Entry.objects.filter(object_type="export", object_id=str(export.pk))
    request = entries.get(action=Action.EXPORT_REQUEST)
    assert request.user_id == world.labadmin.pk and '"via":"cli"' in request.detail
    assert '"os_user"' in request.detail
    listing = _run(monkeypatch, "list", "--lab", "lab-a")
    assert f"{export.pk}\tproduced\ttransfer" in listing


@pytest.mark.parametrize("stdin", ["", "000000\n", "abc\n"])
def test_it_refuses_a_named_user_without_their_current_code(world, key, monkeypatch, stdin):
    with pytest.raises(CommandError, match="TOTP"):
        _run(monkeypatch, "create", "--lab", "lab-a", "--profile", "transfer", "--recipient",
             key[1], "--requested-by", world.labadmin.username, "--patients", "all",
             stdin=stdin)
    assert not Export.objects.exists()


def test_the_requester_cannot_approve_from_the_cli_either(world, key, monkeypatch):
    export = _create(monkeypatch, world, key[1], "--patients", "all", user=world.biologist)
    with pytest.raises(CommandError, match="propre demande"):
        _run(monkeypatch, "approve", str(export.pk), "--by", world.biologist.username,
             stdin=_code(world.biologist, 1) + "\n")
    export.refresh_from_db()
    assert export.status == Status.REQUESTED


@pytest.mark.parametrize("args", [
    ("--patients", "all", "--expires", "31d"), ("--patients", "all", "--expires", "7w"),
    ("--patients", "1,x"), ("--since", "2026-13-01"), (),
    ("--patients", "all", "--since", "2026-01-01"),
])
def test_it_rejects_bad_arguments_in_one_line(world, key, monkeypatch, args):
    with pytest.raises(CommandError) as caught:
        _create(monkeypatch, world, key[1], *args)
    assert "\n" not in str(caught.value)


def test_a_purged_export_cannot_be_fetched(world, key, monkeypatch, tmp_path):
    export = _create(monkeypatch, world, key[1], "--since", "2026-01-01")
    _run(monkeypatch, "approve", str(export.pk), "--by", world.dpo.username,
         stdin=_code(world.dpo) + "\n")
    _run(monkeypatch, "purge", str(export.pk), "--by", world.biologist.username,
         stdin=_code(world.biologist) + "\n")
    assert not (crypto.exports_dir() / Export.objects.get(pk=export.pk).file_name).exists()
    with pytest.raises(CommandError, match=f"export {export.pk} is purged"):
        _run(monkeypatch, "fetch", str(export.pk), "--by", world.dpo.username, "--out",
             str(tmp_path / "x"), stdin=_code(world.dpo, 1) + "\n")
    assert not (tmp_path / "x").exists()


def test_purge_without_arguments_is_the_cron_job(world, key, monkeypatch):
    assert _run(monkeypatch, "purge") == ""
