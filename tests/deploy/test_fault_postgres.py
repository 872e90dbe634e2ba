"""Fault under load (issue 22, item 5): PostgreSQL stops mid-run and starts again.

The cluster is the test's own (tests/deploy/private_pg.py), never the shared server.
Two application servers run against it; it is stopped ("fast": open transactions are
rolled back), left down for a few seconds, and started again. During the outage a
request gets the French 500 page in the site's layout; once the server is back the same
application processes answer again (Django's connection health checks open a new
connection), with no restart of theirs.
"""

import json
import time

import pytest

from tests.cli_helpers import clean_env
from tests.conftest import require_system
from tests.deploy import faults
from tests.deploy.private_pg import PrivatePostgres, bin_dir
from tests.deploy.stack import AppServer

pytestmark = [pytest.mark.once,
              pytest.mark.skipif(not faults.LOCUST.exists(), reason="locust is not installed")]

USERS, SECONDS = 4, 36


def _until_ok(session, url, seconds=20):
    deadline = time.monotonic() + seconds
    while True:
        response = session.get(url, timeout=30)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_postgresql_restarted_under_load(tmp_path):
    require_system(bin_dir() is not None, "initdb is not installed (postgresql)")
    pg = PrivatePostgres().init("etanche")
    servers = []
    try:
        env = clean_env(tmp_path / "var", DATABASE_URL=pg.url("etanche"), **faults.PLAIN_HTTP)
        assert faults.run_etanche("init", env=env).returncode == 0
        assert faults.run_etanche("demo", "--patients", "20", env=env, timeout=300).returncode == 0
        accounts, probe_account = faults.make_staff(env, tmp_path, USERS)
        servers = [AppServer(env).start(), AppServer(env).start()]
        origin = f"http://127.0.0.1:{servers[0].port}"
        probe = faults.signed_in(origin, probe_account)
        patient = faults.a_patient_page(env, origin)
        acked, prefix = tmp_path / "acked.txt", tmp_path / "load"
        # Half the simulated staff on each server: two locust runs, each with its own
        # accounts (one person is never two sessions at once).
        everyone = json.loads(accounts.read_text())
        halves = [tmp_path / "first.json", tmp_path / "second.json"]
        halves[0].write_text(json.dumps(everyone[: USERS // 2]))
        halves[1].write_text(json.dumps(everyone[USERS // 2:]))
        other = f"http://127.0.0.1:{servers[1].port}"
        with faults.locust(origin, halves[0], acked, prefix, users=USERS // 2,
                           seconds=SECONDS, env=env), \
             faults.locust(other, halves[1], acked, tmp_path / "other", users=USERS // 2,
                           seconds=SECONDS, env=env):
            time.sleep(10)
            pg.stop("fast")
            time.sleep(1)
            faults.assert_fault_page(probe.get(patient, timeout=30), status=(500,),
                                     words="Erreur du serveur",
                                     in_layout=True)
            time.sleep(5)
            pg.start()
            assert _until_ok(probe, patient).status_code == 200  # no application restart
        logs = "\n".join(server.output(last=None) for server in servers)
        faults.assert_clean_log(logs)
        result = faults.assert_acknowledged_writes_whole(env, acked)
    finally:
        for server in servers:
            server.stop()
        pg.remove()
    measured = [faults.summary(prefix), faults.summary(tmp_path / "other")]
    print(f"fault postgresql restart: {measured} {result}")
    assert sum(m["requests"] for m in measured) > SECONDS
