"""Run inside `etanche shell`: register synthetic patients one by one, for a backup taken
meanwhile (tests/ops/test_backup_drill.py). Prints one line per committed registration."""
# ruff: noqa: INP001, T201
import os

from etanche.accounts.models import User
from etanche.labs.models import Lab
from etanche.patients.intake import INPUT_FIELDS
from etanche.patients.services import PatientError, register_patient
from etanche.synthetic.people import envelopes

lab = Lab.objects.get(slug="demo")
user = User.objects.get(username="julien.martin")
for envelope in envelopes(int(os.environ.get("LOOP_PATIENTS", "200")), seed=7707):
    try:
        data = {k: v for k, v in envelope.items() if k in INPUT_FIELDS}
        register_patient(lab, user, data, not_duplicate=True)
    except PatientError:
        continue
    print("registered", flush=True)
