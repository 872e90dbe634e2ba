"""With `etanche worker` running, an alert reaches syslog and the webhook within 60 s of
the entry that triggers it, and no message holds a patient's identity."""

import subprocess
import tempfile
import time

import pytest
from django.core import mail

from etanche.patients import services as patients
from etanche.watch import canaries
from tests.cli_helpers import ETANCHE
from tests.exports.helpers import child_env
from tests.leakscan import find_leaks
from tests.orders.helpers import make_patient
from tests.personas import build_world
from tests.watch.helpers import reads
from tests.watch.targets import SECRET, syslog_udp, webhook_server

PROMISE_SECONDS = 60


def _identity_needles(env: dict) -> list[str]:
    values = [env["birth_name"], *env["first_names"], env["ins"], env.get("email") or "",
              env.get("street") or "", env.get("city") or "", *(env.get("phones") or []),
              env["birth_date"]]
    return [v for v in values if v and len(v) >= 4]


@pytest.mark.django_db(transaction=True)
def test_alerts_delivered_within_a_minute_with_no_personal_data():
    world = build_world()
    real = make_patient(world.lab_a, world.frontdesk, birth_name="Kerhervé")
    canaries.seed(world.lab_a, 1)
    (canary,) = canaries.canaries_among(world.lab_a, [p.pk for p in [real]] + [
        pk for pk in patients.sample_live_ids(world.lab_a, 10)])
    needles = [*_identity_needles(patients.get_patient(world.lab_a, None, real.pk).fields),
               *_identity_needles(patients.get_patient(world.lab_a, None, canary).fields)]
    with syslog_udp() as (udp, udp_port), webhook_server() as (hooks, hook_port), \
            tempfile.TemporaryFile() as log:
        env = child_env(ETANCHE_ALERT_SYSLOG=f"udp://127.0.0.1:{udp_port}",
                        ETANCHE_ALERT_WEBHOOK=f"http://127.0.0.1:{hook_port}/",
                        ETANCHE_ALERT_WEBHOOK_SECRET=SECRET, ETANCHE_ALERT_EMAIL_TO="",
                        ETANCHE_WORKER_POLL_SECONDS="1", ETANCHE_WATCH_VERIFY_MINUTES="0")
        worker = subprocess.Popen([ETANCHE, "worker"], env=env, stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            started = time.monotonic()
            patients.get_patient(world.lab_a, world.frontdesk, real.pk)
            patients.get_patient(world.lab_a, world.frontdesk, canary)
            reads(world.lab_a, world.frontdesk, range(9000, 9200))  # 200 patients
            rules_seen = set()
            while time.monotonic() - started < PROMISE_SECONDS and not (
                    {"bulk-reads", "honeypot"} <= rules_seen and len(udp) >= 2):
                assert worker.poll() is None, "the worker exited"
                rules_seen = {h["rule"] for h in hooks}
                time.sleep(0.2)
            elapsed = time.monotonic() - started
        finally:
            worker.terminate()
            worker.wait(30)
    assert {"bulk-reads", "honeypot"} <= rules_seen, f"not within {PROMISE_SECONDS} s"
    assert elapsed < PROMISE_SECONDS
    honeypot = next(h for h in hooks if h["rule"] == "honeypot")
    assert honeypot["severity"] == "critical" and honeypot["user"] == world.frontdesk.pk
    sent = b"\n".join([*udp, *(str(h).encode() for h in hooks),
                       *(m.message().as_bytes() for m in mail.outbox)])
    assert find_leaks(sent, needles) == []
