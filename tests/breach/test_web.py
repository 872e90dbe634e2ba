"""The DPO's breach page: the upload is sealed on arrival, scanned, deleted; the case page."""

import os
from datetime import timedelta

import pyrage
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from etanche.breach import services, spool
from etanche.breach.models import BreachCase
from etanche.breach.reading import TabularError, sections
from etanche.synthetic import people
from tests.breach import leaks
from tests.breach.conftest import OURS, SEED
from tests.exports.helpers import age_key
from tests.personas import sign_in


def _leftovers(tmp_dirs) -> list:
    return [p for d in tmp_dirs if d.exists() for p in d.rglob("*") if p.is_file()]


def test_upload_scanned_into_a_case_and_nothing_left(lab, world, client, tmp_path):
    envs = list(people.envelopes(OURS, seed=SEED))[:40]
    data = leaks.gzipped(leaks.as_csv(leaks.rows_of(envs)))
    sign_in(client, world.dpo, sudo=True)
    spool = settings.DATA_DIR / "breach"
    response = client.post(reverse("breach_upload"),
                           {"file": SimpleUploadedFile("fuite.csv.gz", data)})
    assert response.status_code == 302, response.content[:500]
    case = BreachCase.objects.get()
    assert response["Location"] == reverse("breach_case", args=[case.pk])
    assert len(case.get_sealed()["patient_ids"]) == 40
    assert _leftovers([spool]) == []
    page = client.get(reverse("breach_case", args=[case.pk])).content.decode()
    assert "72 heures" in page and 'id="patients">40<' in page
    assert not any(env["birth_name"] in page or env["ins"] in page for env in envs)
    pdf = client.get(reverse("breach_cnil_pdf", args=[case.pk]))
    assert pdf.content.startswith(b"%PDF")
    identity, recipient = age_key()
    letters = client.post(reverse("breach_letters", args=[case.pk]), {"recipient": recipient})
    assert letters.status_code == 200
    clear = pyrage.decrypt(letters.content, [identity])
    assert clear.startswith(b"%PDF") and envs[0]["birth_name"].encode() not in letters.content


def test_unreadable_upload_french_message_and_nothing_left(lab, world, client):
    sign_in(client, world.dpo, sudo=True)
    response = client.post(reverse("breach_upload"),
                           {"file": SimpleUploadedFile("x.bin", bytes(range(256)) * 50)})
    assert response.status_code == 400
    assert "ni un CSV" in response.content.decode()
    assert not BreachCase.objects.exists()
    assert _leftovers([settings.DATA_DIR / "breach"]) == []


def test_someone_else_uploads_nothing(lab, world, client):
    sign_in(client, world.frontdesk)
    response = client.post(reverse("breach_upload"),
                           {"file": SimpleUploadedFile("x.csv", b"nom;prenom\nA;B\n")})
    assert response.status_code == 403
    assert _leftovers([settings.DATA_DIR / "breach"]) == []


def test_case_page_clock_and_update(world, client):
    case = services.open_case(world.lab_a, world.dpo, title="Clé USB perdue",
                              aware_at=timezone.now() - timedelta(hours=70))
    sign_in(client, world.dpo, sudo=True)
    page = client.get(reverse("breach_case", args=[case.pk])).content.decode()
    assert "Reste <strong" in page and "1 h" in page
    response = client.post(reverse("breach_case_update", args=[case.pk]),
                           {"note": "Prestataire prévenu", "dpo_contact": "dpo@labo.example",
                            "status": "open"})
    assert response.status_code == 302
    services.update_case(case, world.dpo, aware_at=timezone.now() - timedelta(hours=73))
    page = client.get(reverse("breach_case", args=[case.pk])).content.decode()
    assert "Délai dépassé" in page and "Prestataire prévenu" in page
    case.refresh_from_db()
    assert case.get_sealed()["dpo_contact"] == "dpo@labo.example"


def test_a_spool_left_by_a_dead_process_is_purged(lab):
    left = spool.SealedSpool(lab)
    left.write(b"nom;prenom\n")
    left.finish()
    fresh = spool.SealedSpool(lab)
    fresh.finish()
    old = left.path.stat().st_mtime - spool.STALE_SECONDS - 10
    os.utime(left.path, (old, old))
    assert spool.purge_stale() == 1
    assert not left.path.exists() and fresh.path.exists()
    assert fresh.open().read() == b""
    fresh.delete()


def test_a_spool_with_chunks_swapped_does_not_open(lab):
    sealed = spool.SealedSpool(lab)
    sealed.write(b"nom;prenom\n")
    sealed.write(b"MARTIN;Marie\n")
    sealed.finish()
    data = sealed.path.read_bytes()
    first = 4 + int.from_bytes(data[:4], "big")
    second = first + 4 + int.from_bytes(data[first:first + 4], "big")
    sealed.path.write_bytes(data[first:second] + data[:first] + data[second:])
    def read_all():
        return [list(section.rows) for section in sections(sealed.open)]

    with pytest.raises(TabularError):
        read_all()
    sealed.delete()
