"""The import page: upload encrypted on arrival, masked proposal, worker, report, destruction."""

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from etanche.imports import jobs
from etanche.imports.models import ImportJob, JobStatus
from etanche.ops import worker
from etanche.patients.models import Patient
from tests.imports.helpers import other_rows, write_other_csv
from tests.leakscan import files_under, find_leaks
from tests.personas import sign_in

pytestmark = pytest.mark.django_db(transaction=True)  # the worker commits, as in production


def _scan(roots, needles) -> list[str]:
    return [f"{path.name}: {leak}" for path, data in files_under(roots).items()
            for leak in find_leaks(data, needles)]


def test_a_web_import_from_upload_to_report_leaves_nothing_in_clear(world, client, tmp_path,
                                                                   monkeypatch, settings):
    # A temporary directory of this test's own: what Django or a library would spool there
    # is this test's, not a neighbour's (the machine runs other tests at the same time).
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    settings.FILE_UPLOAD_TEMP_DIR = str(private_tmp)
    rows = list(other_rows(30, seed=5))
    rows[3][6] = "1 23 45 67 890 123 45"  # a bad NIR
    source = write_other_csv(tmp_path / "ancien.csv", rows)
    needles = [v for r in rows[:8] for v in (r[1], r[6].replace(" ", ""), r[8])]
    temp = Path(tempfile.gettempdir())
    sign_in(client, world.labadmin, sudo=True)

    response = client.post(reverse("import_list") + "?kind=patients",
                           {"file": SimpleUploadedFile("ancien.csv", source.read_bytes())})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/imports/{job.pk}/")
    stored = Path(django_settings.DATA_DIR) / "imports" / job.file_name
    assert stored.read_bytes().startswith(b"age-encryption.org/v1")
    assert _scan([Path(django_settings.DATA_DIR)], needles) == []

    worker.run(interval=0.1, batch=True)
    job.refresh_from_db()
    assert job.status == JobStatus.PROPOSED
    page = client.get(reverse("import_detail", args=[job.pk])).content.decode()
    assert "N° SS" in page and "→ NIR" in page and "import-preview" in page
    assert find_leaks(page.encode(), needles) == []  # masked: initials, last digits
    assert f"{rows[0][1][0]}." in page

    client.post(reverse("import_confirm", args=[job.pk]), {"dry_run": "1"})
    worker.run(interval=0.1, batch=True)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.report["rows"] == 30
    assert [r["row"] for r in job.report["rejected"]] == [4] and stored.exists()
    assert Patient.objects.for_lab(world.lab_a).count() == 0

    client.post(reverse("import_confirm", args=[job.pk]), {"accept_valid": "1"})
    worker.run(interval=0.1, batch=True)
    job.refresh_from_db()
    assert job.report["imported"] == 29 and Patient.objects.for_lab(world.lab_a).count() == 29
    assert not stored.exists() and job.file_name == "" and job.get_sealed()["identity"] == ""
    page = client.get(reverse("import_detail", args=[job.pk])).content.decode()
    assert "29 importées" in page and find_leaks(page.encode(), needles) == []
    assert _scan([Path(django_settings.DATA_DIR), temp], needles) == []


def test_the_upload_needs_the_permission_and_a_fresh_reauthentication(world, client, tmp_path):
    source = write_other_csv(tmp_path / "a.csv", other_rows(2))
    sign_in(client, world.labadmin, sudo=False)
    response = client.post(reverse("import_list") + "?kind=patients",
                           {"file": SimpleUploadedFile("a.csv", source.read_bytes())})
    assert response.status_code == 302 and "/imports/" not in response["Location"]
    assert ImportJob.objects.count() == 0  # asked to re-authenticate: the chunks dropped
    sign_in(client, world.frontdesk, sudo=True)
    response = client.post(reverse("import_list") + "?kind=patients",
                           {"file": SimpleUploadedFile("a.csv", source.read_bytes())})
    assert response.status_code == 403 and ImportJob.objects.count() == 0


def test_an_abandoned_or_forgotten_upload_is_destroyed(world, client, tmp_path):
    first, writer = jobs.receive(world.lab_a, world.labadmin, "patients")
    files = [Path(django_settings.DATA_DIR) / "imports" / first.file_name]
    writer.write(b"nom;prenom\nDupont;Anne\n")
    writer.close()
    second, writer = jobs.receive(world.lab_a, world.labadmin, "patients")
    files.append(Path(django_settings.DATA_DIR) / "imports" / second.file_name)
    writer.write(b"nom;prenom\nDupont;Anne\n")
    writer.close()
    jobs.abandon(first, world.labadmin)
    first.refresh_from_db()
    assert first.status == JobStatus.ABANDONED and first.file_name == ""
    assert jobs.purge_expired(timezone.now() + timedelta(hours=1)) == 0
    assert jobs.purge_expired(timezone.now() + timedelta(hours=25)) == 1
    second.refresh_from_db()
    assert second.file_name == "" and not any(f.exists() for f in files)


def test_the_preview_masks_names_and_digits():
    assert jobs.work.mask("birth_name", "Le Gall-Kerhervé") == "L. G. K."
    assert jobs.work.mask("nir", "1 85 05 78 006 084 36") == "• •• •• •• ••• ••• 36"
    assert jobs.work.mask("birth_date", "23/03/2006") == "••/••/••06"
    assert jobs.work.mask("email", "anne.dupont@example.org") == "A."
    assert jobs.work.mask("phone", "") == ""


def test_a_browsers_upload_with_its_form_token_is_received(world, tmp_path):
    """The CSRF check enforced, as a browser meets it (see tests/breach/test_web.py)."""
    import re

    from django.test import Client

    browser = sign_in(Client(enforce_csrf_checks=True), world.labadmin, sudo=True)
    page = browser.get(reverse("import_list")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    source = write_other_csv(tmp_path / "a.csv", other_rows(3))
    response = browser.post(reverse("import_list") + "?kind=patients", {
        "csrfmiddlewaretoken": token, "file": SimpleUploadedFile("a.csv", source.read_bytes())})
    assert response.status_code == 302, response.content[:300]
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("import_detail", args=[job.pk])
