"""The same person sent by several front desks at once is created once."""

import json
import subprocess
import time

from etanche.synthetic.people import generate
from tests.cli_helpers import ETANCHE, run_etanche
from tests.db_helpers import fresh_instance
from tests.patients.people import as_input

# Each process loads Django, then waits for the same starting signal, so the
# registrations really overlap (process start-up alone would spread them out).
REGISTER = """
import json, os, time
from etanche.labs.models import Lab
from etanche.patients.services import DuplicatePatient, register_patient
lab = Lab.objects.get(slug="conc")
data = json.loads(os.environ["PERSON"])
open(os.environ["READY"] + str(os.getpid()), "w").close()
while not os.path.exists(os.environ["GO"]):
    time.sleep(0.002)
try:
    register_patient(lab, None, data)
    print("created")
except DuplicatePatient:
    print("duplicate")
"""


def test_simultaneous_registrations_of_one_person_create_one_record(tmp_path):
    person = json.dumps(as_input(generate(1, seed=77)[0]))
    go, ready = tmp_path / "go", tmp_path / "ready-"
    with fresh_instance(tmp_path) as env:
        created = run_etanche(
            "labs", "create", "conc", "--name", "Concurrence", "--finess", "990000002", env=env
        )
        assert created.returncode == 0, created.stderr
        env = {**env, "PERSON": person, "GO": str(go), "READY": str(ready)}
        procs = [
            subprocess.Popen(
                [ETANCHE, "shell", "-c", REGISTER], env=env, text=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
            for _ in range(4)
        ]
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("ready-*"))) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        outcomes = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outcomes.append(out.strip().splitlines()[-1])
        assert sorted(outcomes) == ["created", "duplicate", "duplicate", "duplicate"]
