"""The DPO's breach page: the upload is sealed on arrival, scanned by the worker, deleted;
the scan's page; the case page."""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pyrage
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from etanche.breach import services, spool, tasks
from etanche.breach.models import BreachCase, BreachScanJob, ScanJobStatus
from etanche.breach.reading import TabularError, sections
from etanche.breach.scan import scan_file
from etanche.synthetic import people
from tests.breach import leaks
from tests.breach.conftest import OURS, SEED
from tests.breach.test_cli import BAD
from tests.exports.helpers import age_key
from tests.leakscan import files_under, find_leaks
from tests.personas import sign_in


def _leftovers(tmp_dirs) -> list:
    return [p for d in tmp_dirs if d.exists() for p in d.rglob("*") if p.is_file()]


def _clear_in(roots, needles) -> list[str]:
    """Where a needle lies in clear under `roots` (positions only, never the value)."""
    return [f"{path.name}: {leak}" for path, data in files_under(roots).items()
            for leak in find_leaks(data, needles)]


def _run_the_task():
    """What `etanche worker` does with the queued scan (tests/breach/test_jobs.py runs the
    worker itself)."""
    job = BreachScanJob.objects.get()
    return tasks.scan_breach_task.call(job.pk)


def test_upload_scanned_by_the_worker_into_a_case_and_nothing_left(
        lab, world, client, tmp_path, monkeypatch):
    private_tmp = tmp_path / "tmp"  # this test's own: a neighbour's files are not ours
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.setattr(settings, "FILE_UPLOAD_TEMP_DIR", str(private_tmp))
    envs = list(people.envelopes(OURS, seed=SEED))[:40]
    needles = [v for env in envs for v in (env["birth_name"], env["ins"], env["email"])]
    data = leaks.gzipped(leaks.as_csv(leaks.rows_of(envs)))
    sign_in(client, world.dpo, sudo=True)
    spool = settings.DATA_DIR / "breach"
    roots = [Path(settings.DATA_DIR), private_tmp]
    response = client.post(reverse("breach_upload"),
                           {"file": SimpleUploadedFile("fuite.csv.gz", data)})
    assert response.status_code == 302, response.content[:500]
    job = BreachScanJob.objects.get()
    assert response["Location"] == reverse("breach_job", args=[job.pk])
    assert job.status == ScanJobStatus.UPLOADED and job.created_by == world.dpo
    assert not BreachCase.objects.exists()  # nothing scanned inside the request
    assert [p.name for p in _leftovers([spool])] == [f"{job.spool_name}.sealed"]
    assert _clear_in(roots, needles) == []
    waiting = client.get(reverse("breach_job", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' in waiting and "l'analyse va commencer" in waiting

    assert _run_the_task() == ScanJobStatus.DONE
    job.refresh_from_db()
    case = BreachCase.objects.get()
    assert job.status == ScanJobStatus.DONE and job.case == case and job.progress == 40
    assert len(case.get_sealed()["patient_ids"]) == 40
    assert _leftovers([spool]) == [] and job.spool_name == ""
    assert _clear_in(roots, needles) == []
    result = client.get(reverse("breach_job", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' not in result
    assert (f"Analyse n° {job.scan_id} : 40 ligne(s), 40 patient(s) du laboratoire "
            "retrouvé(s). Le fichier a été supprimé.") in result
    assert 'id="patients">40<' in result and "Gravité" in result and 'id="origin"' in result
    assert reverse("breach_case", args=[case.pk]) in result
    assert find_leaks(result.encode(), needles) == []
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


@pytest.mark.parametrize("kind", ["garbage", "zip-bomb", "xlsx-formulas"])
def test_unreadable_upload_french_message_and_nothing_left(lab, world, client, tmp_path, kind):
    data = BAD[kind]()
    (tmp_path / "leak").write_bytes(data)
    with pytest.raises(TabularError) as refused:  # what the synchronous page said
        scan_file(lab, tmp_path / "leak")
    sign_in(client, world.dpo, sudo=True)
    response = client.post(reverse("breach_upload"),
                           {"file": SimpleUploadedFile("x.bin", data)})
    job = BreachScanJob.objects.get()
    assert response.status_code == 302
    assert _run_the_task() == ScanJobStatus.FAILED
    job.refresh_from_db()
    assert job.status == ScanJobStatus.FAILED and job.error == str(refused.value)
    page = client.get(reverse("breach_job", args=[job.pk])).content.decode()
    assert f'<p class="error" role="alert">{job.error}</p>'.replace("'", "&#x27;") in page
    assert "\n" not in job.error and "Traceback" not in page
    assert 'http-equiv="refresh"' not in page
    if kind == "garbage":
        assert "ni un CSV" in page
    assert not BreachCase.objects.exists()
    assert _leftovers([settings.DATA_DIR / "breach"]) == [] and job.spool_name == ""


def test_an_empty_upload_or_a_closed_case_refused_at_once(lab, world, client):
    sign_in(client, world.dpo, sudo=True)
    response = client.post(reverse("breach_upload"), {"file": SimpleUploadedFile("x.csv", b"")})
    assert response.status_code == 400 and "ne doit pas être vide" in response.content.decode()
    closed = services.open_case(lab, world.dpo, title="Ancien")
    services.update_case(closed, world.dpo, status="closed")
    response = client.post(reverse("breach_upload"),
                           {"file": SimpleUploadedFile("x.csv", b"nom;prenom\nA;B\n"),
                            "case": str(closed.pk)})
    assert response.status_code == 400 and "Dossier inconnu ou clos." in response.content.decode()
    assert not BreachScanJob.objects.exists()
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


def _form_token(page) -> str:
    import re

    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]


def test_a_browsers_upload_with_its_form_token_is_scanned(lab, world):
    """As a browser sends it: the CSRF check enforced, the token read from the page. That
    check parses the body, so the upload handler must already know the DPO's membership
    (the test client skips the check by default: this is what it hid)."""
    from django.test import Client

    browser = sign_in(Client(enforce_csrf_checks=True), world.dpo, sudo=True)
    token = _form_token(browser.get(reverse("breach_upload")))
    data = leaks.as_csv(leaks.rows_of(list(people.envelopes(OURS, seed=SEED))[:5]))
    response = browser.post(reverse("breach_upload"), {
        "csrfmiddlewaretoken": token, "file": SimpleUploadedFile("fuite.csv", data)})
    assert response.status_code == 302, response.content[:300]
    job = BreachScanJob.objects.get()
    assert response["Location"] == reverse("breach_job", args=[job.pk])
    assert _run_the_task() == ScanJobStatus.DONE
    # Without the token the form is refused, and nothing is kept.
    response = browser.post(reverse("breach_upload"), {"file": SimpleUploadedFile("b.csv", data)})
    assert response.status_code == 403 and BreachScanJob.objects.count() == 1
