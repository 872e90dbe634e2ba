"""Issue 16, item 13: a download belongs to the requester unless they allowed others.

The attack: a DPO who did not ask for an export (but holds the download
permission) uses up its last download, and the file is destroyed before the
requester ever gets it.
"""

import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from etanche.accounts.models import SealedTOTPDevice
from etanche.exports import crypto
from etanche.exports import services as exports
from etanche.exports.models import Export, Status
from etanche.journal.models import Action, Entry
from etanche.vault.errors import TamperedData
from tests.personas import sign_in, totp_now

pytestmark = pytest.mark.usefixtures("with_patients")
REFUSAL = "Seul le demandeur peut télécharger"


def _produced(world, recipient, **kwargs):
    # Asked by a biologist, who may download; approved by the lab admin.
    export = exports.request_export(world.lab_a, world.biologist, profile="migration",
                                    selection="all", recipient=recipient, **kwargs)
    exports.approve_export(export, world.labadmin)
    return exports.produce_export(export)


def _file(export):
    return crypto.exports_dir() / export.file_name


def test_a_dpo_who_did_not_ask_cannot_use_up_the_last_download(world, key):
    export = _produced(world, key[1])
    with pytest.raises(exports.ExportRefused, match=REFUSAL):
        exports.open_for_download(export, world.dpo)
    export.refresh_from_db()
    assert export.status == Status.PRODUCED and export.downloads_done == 0
    assert _file(export).exists()
    denied = Entry.objects.get(object_type="export", object_id=str(export.pk),
                               action=Action.EXPORT_DOWNLOAD)
    assert (denied.user_id, denied.outcome) == (world.dpo.pk, "denied")
    with exports.open_for_download(export, world.biologist) as handle:
        assert handle.read()
    export.refresh_from_db()
    assert export.status == Status.DOWNLOADED


def test_the_web_refuses_the_dpo_in_french_and_serves_the_requester(world, key):
    export = _produced(world, key[1])
    dpo = sign_in(Client(), world.dpo)
    page = dpo.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "Télécharger le fichier chiffré" not in page
    response = dpo.post(reverse("export_download", args=[export.pk]), follow=True)
    assert REFUSAL in response.content.decode()
    assert _file(export).exists()
    requester = sign_in(Client(), world.biologist)
    response = requester.post(reverse("export_download", args=[export.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content)


def test_the_requester_may_allow_others_at_request_time(world, key):
    export = _produced(world, key[1], downloads_shared=True)
    with exports.open_for_download(export, world.dpo) as handle:
        assert handle.read()


def _run(monkeypatch, user, *args) -> str:
    code = totp_now(SealedTOTPDevice.objects.get(user=user))
    monkeypatch.setattr(sys, "stdin", io.StringIO(code + "\n"))
    out = io.StringIO()
    call_command("export", *args, stdout=out)
    return out.getvalue()


def test_the_cli_refuses_the_dpo_and_takes_the_flag(world, key, monkeypatch, tmp_path):
    export = _produced(world, key[1])
    with pytest.raises(CommandError, match=REFUSAL):
        _run(monkeypatch, world.dpo, "fetch", str(export.pk), "--by", world.dpo.username,
             "--out", str(tmp_path / "x.age"))
    assert not (tmp_path / "x.age").exists() and _file(export).exists()
    out = _run(monkeypatch, world.biologist, "create", "--lab", "lab-a", "--profile",
               "transfer", "--recipient", key[1], "--requested-by", world.biologist.username,
               "--patients", "all", "--shared-download")
    assert Export.objects.get(pk=int(out.splitlines()[-1])).downloads_shared


def test_the_flag_cannot_be_set_in_the_database(world, key):
    # Bound to the sealed row (vault/sealed.py BOUND_FIELDS): a database writer cannot share it.
    export = _produced(world, key[1])
    Export.objects.filter(pk=export.pk).update(downloads_shared=True)
    with pytest.raises(TamperedData):
        exports.open_for_download(export, world.dpo)
    assert _file(export).exists()
