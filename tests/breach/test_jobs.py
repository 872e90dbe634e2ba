"""The web scan's job, on the worker's side: the worker runs it, a second run is harmless,
the spool goes after the scan, after a failure and after 24 hours, another lab sees nothing."""

import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from etanche.accounts.models import Role
from etanche.breach import jobs, services, spool, tasks, work
from etanche.breach.models import BreachCase, BreachScan, BreachScanJob, ScanJobStatus
from etanche.journal.models import Action, Entry
from etanche.ops import worker
from etanche.synthetic import people
from tests.breach import leaks
from tests.breach.conftest import OURS, SEED
from tests.personas import sign_in


def _leak(count: int = 12) -> bytes:
    return leaks.as_csv(leaks.rows_of(list(people.envelopes(OURS, seed=SEED))[:count]))


def _job(lab, user, data: bytes, case=None) -> BreachScanJob:
    """What the upload handler and the page do with a POST, without HTTP."""
    sealed = spool.SealedSpool(lab)
    sealed.write(data)
    sealed.finish()
    return jobs.receive(lab, user, sealed, case=case)


def _spool_exists(job) -> bool:
    return (spool.spool_dir() / f"{job.spool_name}.sealed").exists() if job.spool_name \
        else False


def _spools() -> list:
    return list(spool.spool_dir().glob("*.sealed"))


@pytest.fixture(autouse=True)
def _spools_of_this_test_removed():
    """The data directory is the session's: a spool a test keeps on purpose (a job never
    run) must not be counted by the next test's "nothing left" checks."""
    yield
    for path in _spools():
        path.unlink()


@pytest.mark.django_db(transaction=True)  # the worker commits, as in production
def test_the_worker_runs_the_upload_scan_and_the_page_shows_it(lab, world, client):
    sign_in(client, world.dpo, sudo=True)
    response = client.post(reverse("breach_upload"),
                           {"file": SimpleUploadedFile("fuite.csv", _leak(12))})
    job = BreachScanJob.objects.get()
    assert response["Location"] == reverse("breach_job", args=[job.pk])
    queued = DBTaskResult.objects.get()
    assert queued.args_kwargs == {"args": [job.pk], "kwargs": {}}  # ids only

    worker.run(interval=0.1, batch=True)
    job.refresh_from_db()
    assert job.status == ScanJobStatus.DONE and job.scan.matched_patients == 12
    assert _spools() == []
    page = client.get(reverse("breach_job", args=[job.pk])).content.decode()
    assert "12 patient(s) du laboratoire retrouvé(s)" in page and 'id="patients">12<' in page


def test_the_journal_has_the_scan_once_under_the_dpo(lab, world):
    job = _job(lab, world.dpo, _leak(5))
    tasks.scan_breach_task.call(job.pk)
    case = BreachCase.objects.get()
    opened = Entry.objects.filter(action=Action.BREACH_CASE, object_id=str(case.pk))
    scanned = Entry.objects.filter(action=Action.BREACH_SCAN, object_id=str(case.pk))
    assert opened.count() == 1 and scanned.count() == 1
    assert {opened.get().user_id, scanned.get().user_id} == {world.dpo.pk}
    assert '"via":"web"' in scanned.get().detail.replace(" ", "")


def test_a_task_run_twice_or_after_a_killed_worker_scans_once(lab, world):
    job = _job(lab, world.dpo, _leak(6))
    # A worker killed mid-scan: the job says running, nothing of the scan was written.
    BreachScanJob.objects.filter(pk=job.pk).update(status=ScanJobStatus.RUNNING, progress=3)
    assert tasks.scan_breach_task.call(job.pk) == ScanJobStatus.DONE
    assert tasks.scan_breach_task.call(job.pk) == "nothing to do"
    assert BreachCase.objects.count() == 1 and BreachScan.objects.count() == 1
    assert Entry.objects.filter(action=Action.BREACH_SCAN).count() == 1
    assert tasks.scan_breach_task.call(987654) == "nothing to do"


def test_a_scan_feeds_the_case_chosen_at_upload(lab, world):
    case = services.open_case(lab, world.dpo, title="Clé USB perdue")
    job = _job(lab, world.dpo, _leak(4), case=case)
    tasks.scan_breach_task.call(job.pk)
    job.refresh_from_db()
    assert job.case == case and BreachCase.objects.count() == 1
    assert job.scan.case == case and len(case.get_sealed()["patient_ids"]) == 0
    case.refresh_from_db()
    assert len(case.get_sealed()["patient_ids"]) == 4


def test_a_case_closed_before_the_scan_refuses_it(lab, world):
    case = services.open_case(lab, world.dpo, title="Clé USB perdue")
    job = _job(lab, world.dpo, _leak(4), case=case)
    services.update_case(case, world.dpo, status="closed")
    tasks.scan_breach_task.call(job.pk)
    job.refresh_from_db()
    assert job.status == ScanJobStatus.FAILED and job.error == "Dossier inconnu ou clos."
    assert not BreachScan.objects.exists() and _spools() == []


def test_a_failing_scan_loses_its_spool_and_says_so_in_french(lab, world, monkeypatch, caplog):
    job = _job(lab, world.dpo, _leak(4))
    name = people.envelopes(OURS, seed=SEED).__next__()["birth_name"]

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom near {name}")  # an error whose text quotes data

    monkeypatch.setattr(services, "scan_file", broken)
    with pytest.raises(tasks.BreachScanFailed) as failed:
        tasks.scan_breach_task.call(job.pk)
    assert str(failed.value) == "RuntimeError" and name not in caplog.text
    job.refresh_from_db()
    assert job.status == ScanJobStatus.FAILED and job.spool_name == ""
    assert job.error == "L'analyse du fichier a échoué ; envoyez-le à nouveau."
    assert _spools() == [] and not BreachCase.objects.exists()


def test_a_spool_that_vanished_fails_the_job(lab, world):
    job = _job(lab, world.dpo, _leak(2))
    work.spool_of(job).path.unlink()
    tasks.scan_breach_task.call(job.pk)
    job.refresh_from_db()
    assert job.status == ScanJobStatus.FAILED and "n'existe plus" in job.error


def test_the_progress_is_the_rows_read_so_far(lab, world, monkeypatch):
    monkeypatch.setattr(work, "PROGRESS_EVERY_SECONDS", 0)
    monkeypatch.setattr("etanche.breach.scan.BATCH", 50)
    job = _job(lab, world.dpo, _leak(200))
    shown, scan_file = [], services.scan_file

    def watched(*args, progress, **kwargs):
        def step(rows):
            progress(rows)
            shown.append((rows, BreachScanJob.objects.get(pk=job.pk).progress))
        return scan_file(*args, progress=step, **kwargs)

    monkeypatch.setattr(services, "scan_file", watched)
    tasks.scan_breach_task.call(job.pk)
    assert [rows for rows, _ in shown] == [50, 100, 150, 200]
    assert all(rows == stored for rows, stored in shown)  # what the page reads meanwhile
    job.refresh_from_db()
    assert job.progress == 200 and job.status == ScanJobStatus.DONE


def test_forgotten_uploads_are_destroyed_after_24_hours(lab, world):
    forgotten = _job(lab, world.dpo, _leak(2))
    moving = _job(lab, world.dpo, _leak(2))
    fresh = _job(lab, world.dpo, _leak(2))
    day_ago = timezone.now() - timedelta(hours=25)
    BreachScanJob.objects.filter(pk=forgotten.pk).update(created_at=day_ago, updated_at=day_ago)
    # A long scan still moving: its upload is old, its progress is not.
    BreachScanJob.objects.filter(pk=moving.pk).update(created_at=day_ago,
                                                      status=ScanJobStatus.RUNNING)
    orphan = spool.SealedSpool(lab)  # a process killed mid-upload: no job names it
    orphan.finish()
    old = orphan.path.stat().st_mtime - spool.STALE_SECONDS - 10
    for path in (orphan.path, work.spool_of(forgotten).path, work.spool_of(moving).path):
        os.utime(path, (old, old))
    assert work.purge_expired() == 2
    forgotten.refresh_from_db()
    assert forgotten.status == ScanJobStatus.FAILED and "24 heures" in forgotten.error
    assert not orphan.path.exists() and forgotten.spool_name == ""
    assert _spool_exists(moving) and _spool_exists(fresh)
    assert work.purge_expired() == 0
    assert worker.ROUNDS[-1].run == work.purge_expired


def test_another_labs_dpo_sees_nothing_of_the_job(lab, world, client):
    job = _job(lab, world.dpo, _leak(2))
    sign_in(client, world.in_lab_b[Role.DPO], sudo=True)
    assert client.get(reverse("breach_job", args=[job.pk])).status_code == 404
    sign_in(client, world.frontdesk, sudo=True)
    assert client.get(reverse("breach_job", args=[job.pk])).status_code == 403
