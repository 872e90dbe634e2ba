"""Downloads counted, files destroyed after the last one or at expiry, purged means gone."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from etanche.exports import crypto
from etanche.exports import services as exports
from etanche.exports.models import Status
from etanche.journal.models import Action, Entry
from tests.exports.helpers import decrypt, produced
from tests.personas import sign_in

pytestmark = pytest.mark.usefixtures("with_patients")


def _read(export, user):
    with exports.open_for_download(export, user) as handle:
        return handle.read()


def test_it_allows_exactly_the_downloads_asked_then_destroys_the_file(world, key):
    identity, recipient = key
    export = produced(world, recipient, downloads=2)
    path = crypto.exports_dir() / export.file_name
    first = _read(export, world.dpo)
    assert path.exists()
    second = _read(export, world.biologist)
    assert first == second and not path.exists()
    export.refresh_from_db()
    assert export.status == Status.DOWNLOADED and export.downloads_done == 2
    with pytest.raises(exports.ExportGone):
        _read(export, world.dpo)
    downloads = Entry.objects.filter(object_type="export", object_id=str(export.pk),
                                     action=Action.EXPORT_DOWNLOAD)
    assert [(e.user_id, e.outcome) for e in downloads.order_by("seq")] == [
        (world.dpo.pk, "ok"), (world.biologist.pk, "ok"), (world.dpo.pk, "denied")]


def test_the_downloaded_bytes_decrypt_for_the_recipient(world, key, tmp_path):
    identity, recipient = key
    export = produced(world, recipient)
    target = tmp_path / "x.age"
    target.write_bytes(_read(export, world.dpo))
    assert decrypt(target, identity).count(b'"resourceType":"Patient"') == len(world.patients) + 1


def test_purge_destroys_expired_exports_and_their_salt(world, key):
    export = produced(world, key[1], profile="research", expires=timedelta(seconds=90))
    path = crypto.exports_dir() / export.file_name
    assert export.get_sealed()["pseudonym_salt"]
    assert exports.purge_due() == []  # not yet
    later = timezone.now() + timedelta(seconds=91)
    assert exports.purge_due(now=later) == [(export.pk, Status.EXPIRED)]
    export.refresh_from_db()
    assert not path.exists() and export.status == Status.EXPIRED
    assert export.get_sealed()["pseudonym_salt"] is None
    assert exports.purge_due(now=later) == []  # idempotent, safe from cron


def test_an_expired_export_cannot_be_fetched_even_before_the_purge_runs(world, key):
    export = produced(world, key[1])
    type(export).objects.filter(pk=export.pk).update(expires_at=timezone.now())
    with pytest.raises(exports.ExportGone):
        _read(export, world.dpo)
    assert not (crypto.exports_dir() / export.file_name).exists()
    export.refresh_from_db()
    assert export.status == Status.EXPIRED


def test_unapproved_requests_expire_too(world, key):
    export = exports.request_export(world.lab_a, world.labadmin, profile="migration",
                                    selection="all", recipient=key[1],
                                    expires_in=timedelta(seconds=90))
    exports.purge_due(now=timezone.now() + timedelta(minutes=2))
    export.refresh_from_db()
    assert export.status == Status.EXPIRED
    with pytest.raises(exports.ExportRefused):
        exports.approve_export(export, world.biologist)


def test_purge_sweeps_stray_and_partial_files(world, key):
    export = produced(world, key[1])
    stray = crypto.exports_dir() / "export-999.csv.age.part"
    stray.write_bytes(b"partial ciphertext")
    exports.purge_due()
    assert not stray.exists()
    assert (crypto.exports_dir() / export.file_name).exists()


def test_a_purged_export_shows_a_clear_french_message_on_the_web(world, key):
    export = produced(world, key[1])
    exports.purge_export(export, world.dpo)
    client = sign_in(Client(), world.biologist, sudo=True)
    response = client.post(reverse("export_download", args=[export.pk]), follow=True)
    page = response.content.decode()
    assert "n&#x27;est plus disponible" in page or "n'est plus disponible" in page
    assert "purgé" in page


def test_the_web_download_streams_the_ciphertext_and_counts_it(world, key, tmp_path):
    identity, recipient = key
    export = produced(world, recipient)
    client = sign_in(Client(), world.dpo)
    response = client.post(reverse("export_download", args=[export.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    target = tmp_path / "web.age"
    target.write_bytes(b"".join(response.streaming_content))
    assert b'"resourceType":"Patient"' in decrypt(target, identity)
    export.refresh_from_db()
    assert export.status == Status.DOWNLOADED
