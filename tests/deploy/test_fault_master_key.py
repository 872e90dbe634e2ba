"""Fault under load (issue 22, item 5): the master-key file becomes unreadable, then
comes back.

A running server holds the verified key in memory (vault.master.kek caches it per
process), so losing the file does not stop it: that is measured, not assumed. The fault
bites a process that starts while the file is gone (a restart, a new gunicorn worker):
the test restarts the server during the fault. Its requests that need the vault get the
French 503 page; once the file is back, the same process reads it at the next request
(the cache keeps only a key that loaded and verified), with no second restart.
"""

import time

import pytest

from tests.db_helpers import fresh_instance
from tests.deploy import faults
from tests.deploy.stack import AppServer

pytestmark = [pytest.mark.once,
              pytest.mark.skipif(not faults.LOCUST.exists(), reason="locust is not installed")]

USERS, SECONDS = 4, 36


def test_master_key_file_lost_and_restored_under_load(tmp_path):
    with fresh_instance(tmp_path) as env:
        env = {**env, **faults.PLAIN_HTTP}
        assert faults.run_etanche("demo", "--patients", "20", env=env, timeout=300).returncode == 0
        accounts, probe_account = faults.make_staff(env, tmp_path, USERS)
        key = tmp_path / "var" / "master.key"
        assert key.exists()
        away = key.with_name("master.key.away")
        acked, prefix = tmp_path / "acked.txt", tmp_path / "load"
        server = AppServer(env).start()
        origin = f"http://127.0.0.1:{server.port}"
        probe = faults.signed_in(origin, probe_account)
        patient = faults.a_patient_page(env, origin)
        assert probe.get(patient, timeout=30).status_code == 200
        logs = []
        try:
            with faults.locust(origin, accounts, acked, prefix, users=USERS, seconds=SECONDS,
                               env=env):
                time.sleep(8)
                key.chmod(0)          # unreadable for the service user (root reads it anyway)
                key.rename(away)      # so also gone, which stops root too
                time.sleep(4)
                # The running process still holds the key: it keeps serving.
                assert probe.get(patient, timeout=30).status_code == 200
                logs.append(server.output(last=None))
                server.stop()
                server = AppServer(env, port=server.port).start()  # a restart during the fault
                during = probe.get(patient, timeout=30)
                faults.assert_fault_page(during, status=(503,),
                                         words="Les clés de chiffrement sont indisponibles",
                                         in_layout=True)
                time.sleep(6)
                away.rename(key)
                key.chmod(0o600)
                recovered = probe.get(patient, timeout=30)  # same process, no restart
                assert recovered.status_code == 200, recovered.status_code
        finally:
            logs.append(server.output(last=None))
            server.stop()
            if away.exists():
                away.rename(key)
        faults.assert_clean_log("\n".join(logs))
        result = faults.assert_acknowledged_writes_whole(env, acked)
        measured = faults.summary(prefix)
        print(f"fault master key: {measured} {result}")
        assert measured["requests"] > SECONDS
