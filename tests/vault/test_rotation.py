"""Rotation: new primary at once, resumable re-seal (exception and kill -9), master re-wrap."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from etanche.journal.models import Entry
from etanche.ops import keys as journaled
from etanche.vault import keyring, master
from etanche.vault import services as vault
from etanche.vault.models import LabKeyset, MasterKeyRecord, RotationJob
from etanche.vault.rotation import reseal, rotate_lab, rotate_master, start
from tests.cli_helpers import ETANCHE
from tests.sealedapp.models import Note, Person

from .test_sealing import SYNTHETIC

REPO = Path(__file__).resolve().parents[2]


class Interrupted(Exception):
    pass


def _people(lab, count):
    people = [Person(lab=lab) for _ in range(count)]
    tokens = vault.seal_many(
        lab, Person.record_type(),
        [(p.pk, {**SYNTHETIC, "n": i}, p.current_binding()) for i, p in enumerate(people)],
    )
    for person, token in zip(people, tokens, strict=True):
        person.sealed, person.key_version = token, 1
    Person.objects.bulk_create(people)
    return people


def _all_readable_on(lab, version):
    rows = list(Person.objects.filter(lab=lab)) + list(Note.objects.filter(lab=lab))
    assert rows
    for row in rows:
        assert row.key_version == version
        assert vault.token_key_version(row.sealed) == version
        assert row.get_sealed()["birth_name"] == SYNTHETIC["birth_name"]


def _wrapped():
    return {bytes(w) for w in LabKeyset.objects.values_list("wrapped", flat=True)}


def test_it_makes_the_new_version_primary_and_moves_every_row(lab):
    _people(lab, 12)
    note = Note(lab=lab)
    note.set_sealed(SYNTHETIC)
    note.save()
    calls = []

    def on_started(lab_id, version):
        calls.append((lab_id, version, connection.in_atomic_block))

    job, started, moved = rotate_lab(lab, batch_size=5, on_started=on_started)
    assert started and moved == 13 and job.finished_at
    assert vault.token_key_version(vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)) == 2
    _all_readable_on(lab, 2)
    assert calls == [(lab.pk, 2, True)]


def test_it_journals_a_data_key_rotation_through_ops(lab):
    _people(lab, 3)
    journaled.rotate_lab(lab)
    entry = Entry.objects.get(action="key-rotate", lab_id=lab.pk)
    assert entry.object_id == str(lab.pk) and '"version":2' in entry.detail


def test_it_journals_a_master_rotation_through_ops(lab, tmp_path, settings):
    settings.ETANCHE_MASTER_KEY = f"file://{tmp_path / 'master.key'}"
    master.forget()
    keyring.forget()
    LabKeyset.objects.all().delete()
    MasterKeyRecord.objects.all().delete()
    vault.provision_lab(lab)
    journaled.rotate_master()
    entry = Entry.objects.get(action="key-rotate", lab_id=None)
    assert '"kind":"master-key"' in entry.detail and '"keysets":2' in entry.detail


def test_it_resumes_a_reseal_interrupted_between_batches(lab):
    _people(lab, 10)

    def crash_after_two_batches(done, total):
        if done >= 4:
            raise Interrupted

    job, _ = start(lab)
    with pytest.raises(Interrupted):
        reseal(job, batch_size=2, on_batch=crash_after_two_batches)
    job = RotationJob.objects.get(pk=job.pk)
    assert job.finished_at is None and job.moved == 4
    # Every row is readable mid-way: old versions stay available for decryption.
    versions = Person.objects.filter(lab=lab).values_list("key_version", flat=True)
    assert sorted(versions) == [1] * 6 + [2] * 4
    for person in Person.objects.filter(lab=lab):
        assert person.get_sealed()["n"] in range(10)

    again, started = start(lab)
    assert not started and again.pk == job.pk  # no third version: the open job resumes
    reseal(again, batch_size=2)
    _all_readable_on(lab, 2)


def test_it_shows_a_progress_bar_and_status(lab, capsys):
    _people(lab, 6)
    call_command("keys", "rotate", "--lab", lab.slug, "--batch-size", "2")
    out, err = capsys.readouterr()
    assert "re-sealing lab-a [" in err and "100%" in err
    assert "6 sealed values on v2" in out
    call_command("keys", "status")
    out, _ = capsys.readouterr()
    assert "data key v1 active, v2 primary" in out
    assert "sealed values by key version: v2: 6" in out


def test_it_rewraps_lab_keys_under_a_new_master_key(lab, tmp_path, settings):
    key = tmp_path / "master.key"
    settings.ETANCHE_MASTER_KEY = f"file://{key}"
    master.forget()
    keyring.forget()
    LabKeyset.objects.all().delete()
    MasterKeyRecord.objects.all().delete()
    vault.provision_lab(lab)
    token = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    old_key, old_wrapped = key.read_bytes(), _wrapped()

    summary = rotate_master()

    assert "2 keysets re-wrapped" in summary
    assert key.read_bytes() != old_key and key.stat().st_mode & 0o777 == 0o600
    assert not _wrapped() & old_wrapped
    retired = list(tmp_path.glob("master.key.retired-*"))
    assert len(retired) == 1
    keyring.forget()
    master.forget()
    assert vault.unseal(lab, "sealedapp.person", 1, token) == SYNTHETIC
    assert MasterKeyRecord.objects.filter(current=True).count() == 1


def test_it_finishes_a_master_rotation_killed_after_its_commit(lab, tmp_path, settings):
    key = tmp_path / "master.key"
    settings.ETANCHE_MASTER_KEY = f"file://{key}"
    master.forget()
    keyring.forget()
    LabKeyset.objects.all().delete()
    MasterKeyRecord.objects.all().delete()
    vault.provision_lab(lab)
    token = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    rotate_master()
    # Simulate a crash between the commit and the file swap: put the old layout back.
    new = key.read_bytes()
    retired = next(tmp_path.glob("master.key.retired-*"))
    os.replace(retired, key)
    (tmp_path / "master.key.next").write_bytes(new)
    (tmp_path / "master.key.next").chmod(0o600)
    master.forget()
    keyring.forget()
    with pytest.raises(vault.MasterKeyWrong) as error:
        vault.unseal(lab, "sealedapp.person", 1, token)
    assert "rotate --master" in str(error.value)

    assert "finished an interrupted" in rotate_master()
    master.forget()
    keyring.forget()
    assert vault.unseal(lab, "sealedapp.person", 1, token) == SYNTHETIC


@pytest.mark.django_db(transaction=True)
def test_it_finishes_with_every_row_readable_after_a_kill_9(tmp_path, settings):
    from etanche.ops.labs import create_lab

    lab = create_lab("lab-k", "Laboratoire K", "990000002")
    _people(lab, 1500)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{db['NAME']}"
    else:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        url = f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ETANCHE_")},
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": url,
        "ETANCHE_MASTER_KEY": settings.ETANCHE_MASTER_KEY,
        "ETANCHE_SECRET_KEY": settings.SECRET_KEY,
    }
    child = subprocess.Popen(
        [ETANCHE, "keys", "rotate", "--lab", "lab-k", "--batch-size", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not RotationJob.objects.filter(lab=lab, moved__gte=20).exists():
            assert child.poll() is None, "the rotation ended before it could be killed"
            assert time.monotonic() < deadline, "the rotation never started"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    job = RotationJob.objects.get(lab=lab)
    assert job.finished_at is None
    assert Person.objects.filter(lab=lab, key_version=1).exists(), "killed too late to prove much"
    keyring.forget()

    call_command("keys", "rotate", "--lab", "lab-k", "--batch-size", "500")

    assert RotationJob.objects.get(pk=job.pk).finished_at is not None
    _all_readable_on(lab, 2)
