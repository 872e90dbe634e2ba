"""Synthetic patients with every field filled, age keys, and exports through the rules."""

import os
import shutil
import subprocess
from datetime import timedelta

import pyrage
from django.conf import settings
from django.db import connection
from pyrage import x25519

from etanche.exports import services as exports
from etanche.orders import services as orders
from etanche.patients import services as patients
from etanche.patients.intake import as_input
from etanche.patients.models import Patient
from etanche.synthetic.people import envelope_of, iter_identities
from tests.orders.helpers import make_order


def full_patients(lab, user, n=3, seed=4242):
    """Registered patients with contact, coverage, physician, notes, a checked ID document,
    and a sampled, received request with clinical information and notes."""
    made = []
    for identity in iter_identities(n, seed=seed):
        data = as_input(envelope_of(identity))
        data.update(identity_status="VALI", used_first_name=data["first_names"][0],
                    used_name=data.get("used_name") or "Lambert",
                    id_document={"kind": "cni", "checked_on": "2026-01-10"},
                    notes=data.get("notes") or "Prélèvement difficile, veines fines.")
        if len(data.get("phones") or []) == 0:
            data["phones"] = ["+33139900" + f"{len(made):03d}"[-3:]]
        result = patients.register_patient(lab, user, data, not_duplicate=True)
        patient = Patient.objects.get(pk=result.id)
        order = make_order(lab, user, patient, clinical_info="Bilan pré-opératoire",
                           notes="Rappeler le patient", fasting=True, prescriber_rpps="10003456789")
        orders.record_sampling(lab, user, order)
        orders.receive(lab, user, order)
        made.append(patient)
    return made


def age_key():
    identity = x25519.Identity.generate()
    return identity, str(identity.to_public())


def decrypt(path, identity) -> bytes:
    return pyrage.decrypt(path.read_bytes(), [identity])


def decrypt_with_age_binary(path, identity, tmp_path) -> bytes:
    key_file = tmp_path / "recipient.key"
    key_file.write_text(str(identity) + "\n")
    key_file.chmod(0o600)
    command = [shutil.which("age") or "age", "--decrypt", "-i", str(key_file), str(path)]
    result = subprocess.run(command, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()[:200]
    return result.stdout


def requested(world, recipient, *, profile="migration", fmt="ndjson", selection="all",
              ids=None, since=None, expires=timedelta(days=7), downloads=1, by=None,
              shared=True):
    # Shared by default: the lab admin asks and may not download; the owner-only default
    # is tests/exports/test_download_owner.py's.
    return exports.request_export(world.lab_a, by or world.labadmin, profile=profile, fmt=fmt,
                                  selection=selection, patient_ids=ids, since=since,
                                  recipient=recipient, expires_in=expires, downloads=downloads,
                                  downloads_shared=shared)


def produced(world, recipient, **kwargs):
    export = requested(world, recipient, **kwargs)
    exports.approve_export(export, world.biologist)
    return exports.produce_export(export)


def child_env(**extra: str) -> dict:
    """The environment of an `etanche` subprocess working on this test's database and data."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{db['NAME']}"
    else:
        url = (f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}"
               f":{db['PORT'] or 5432}/{db['NAME']}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_SETTINGS")}
    env.update(ETANCHE_DATA_DIR=str(settings.DATA_DIR), DATABASE_URL=url,
               ETANCHE_SECRET_KEY=settings.SECRET_KEY, **extra)
    return env
