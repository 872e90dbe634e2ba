"""alerts_lag: seconds from a triggering journal entry to its alert at a syslog listener (p95),
while the front office registers patients at full speed; watch_cost: registrations per second
with the worker's watch round running, against the same run without it.

Front office: one process registering synthetic patients through the patients service, one
after another (the protected path of the intake bench, without HTTP). Every `EVERY`
registrations, a new account reads 51 distinct patients in a burst: its 51st read crosses the
bulk-read threshold (50 in 10 minutes), which is the triggering entry; its commit time is the
start of the lag. The real `etanche worker` runs beside it (round every 2 s, the default),
sends to a UDP syslog listener in this process, which notes each alert's arrival. The
baseline phase registers as many patients with no worker running; the ratio is the
registration rate without the worker over the rate with it (> 1: it costs that much). A
third phase, with a worker whose watch round never comes back, says in `detail` how much
of that is the rules and how much a second process on the database. On SQLite both
processes share one writer: the lag includes waiting for the lock.

Full size: 3,000 registrations per phase, a burst every 150 (20 alerts); --quick: 300 and 30
(BENCH_N, BENCH_EVERY override).
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

NAMES = ("alerts_lag", "watch_cost")


class Listener:
    """A UDP syslog listener: arrival time of each alert, by the account it names."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.arrived: dict[str, float] = {}
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            if b'rule="bulk-reads"' in data:
                user = data.split(b' user="')[1].split(b'"')[0].decode()
                self.arrived.setdefault(user, time.monotonic())

    def stop(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def _reader(lab, n: int):
    from etanche.accounts.models import Membership, Role, User

    user = User.objects.create(username=f"lecteur.{n}", first_name="Lecteur", last_name=str(n),
                               must_change_password=False)
    Membership.objects.create(user=user, lab=lab, role=Role.FRONTDESK)
    return user


def _burst(lab, user, start: int) -> float:
    """51 reads of distinct patients in one transaction; the commit's monotonic time."""
    from django.db import transaction

    from etanche.journal.models import Action
    from etanche.journal.services import record

    with transaction.atomic():
        record(lab=lab, user=user, entries=[
            {"action": Action.READ, "object_type": "patient", "object_id": start + i}
            for i in range(51)])
    return time.monotonic()


def _register(lab, user, forms) -> float:
    from etanche.patients.services import register_patient

    started = time.monotonic()
    for data in forms:
        register_patient(lab, user, data, not_duplicate=True)
    return time.monotonic() - started


def _forms(n: int, seed: int):
    from bench import fill
    from etanche.synthetic.people import iter_identities

    return [fill.patient_form(i) for i in iter_identities(n, seed)]


def _worker(env: dict, port: int, *, watch: bool = True):
    etanche = Path(sys.executable).with_name("etanche")
    child = {**env, "ETANCHE_ALERT_SYSLOG": f"udp://127.0.0.1:{port}",
             "ETANCHE_ALERT_EMAIL_TO": "", "ETANCHE_ALERT_WEBHOOK": "",
             "ETANCHE_WATCH_VERIFY_MINUTES": "0"}
    if not watch:  # the same worker, its watch round once at start and never again
        child["ETANCHE_WATCH_ROUND_SECONDS"] = str(10**9)
    return subprocess.Popen([str(etanche), "worker"], env=child, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def run(ctx) -> list[dict]:
    from bench import fill
    from etanche.accounts.models import Membership, Role, User
    from etanche.watch import engine

    n = int(os.environ.get("BENCH_N", "0")) or (300 if ctx.quick else 3000)
    every = int(os.environ.get("BENCH_EVERY", "0")) or (30 if ctx.quick else 150)
    lab = fill.make_lab(expected_patients=max(2 * n, 10_000))
    front = User.objects.create(username="accueil.banc", first_name="Accueil",
                                last_name="Banc", must_change_password=False)
    Membership.objects.create(user=front, lab=lab, role=Role.FRONTDESK)
    baseline_forms, watched_forms = _forms(n, seed=17), _forms(n, seed=18)
    idle_forms = _forms(n, seed=19)

    baseline_s = _register(lab, front, baseline_forms)
    idle = _worker(ctx.env, 9, watch=False)  # a worker with no watch round: its own cost
    try:
        time.sleep(3)
        idle_s = _register(lab, front, idle_forms)
    finally:
        idle.terminate()
        idle.wait(30)
    while engine.follow():  # what the baselines wrote is not the watched run's backlog
        pass

    listener = Listener()
    worker = _worker(ctx.env, listener.port)
    triggered: dict[str, float] = {}
    try:
        time.sleep(3)  # the worker's start-up is not the front office's cost
        watched_s = 0.0
        for done in range(0, n, every):
            watched_s += _register(lab, front, watched_forms[done:done + every])
            reader = _reader(lab, done)
            triggered[str(reader.pk)] = _burst(lab, reader, 10_000_000 + done * 100)
        deadline = time.monotonic() + 120
        while set(triggered) - set(listener.arrived) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(30)
        listener.stop()
    lags = [listener.arrived[u] - t for u, t in triggered.items() if u in listener.arrived]
    baseline_rate, watched_rate = n / baseline_s, n / watched_s
    detail = {"registrations_per_phase": n, "alerts_triggered": len(triggered),
              "rate_with_a_worker_without_watch": round(n / idle_s, 1),
              "ratio_to_a_worker_without_watch": round(n / idle_s / watched_rate, 3),
              "alerts_arrived": len(lags), "lag_max_s": round(max(lags), 2) if lags else None,
              "machine_note": "2 shared cores, loaded: compare ratios within one run only"}
    out = []
    if ctx.wants("alerts_lag"):
        out.append({"name": "alerts_lag", "value": round(_p95(lags), 2) if lags else None,
                    "unit": "s (p95)", "baseline": None, "ratio": None, "n": len(lags),
                    "detail": {**detail, "promise_s": 60}})
    if ctx.wants("watch_cost"):
        out.append({"name": "watch_cost", "value": round(watched_rate, 1),
                    "unit": "registrations/s", "baseline": round(baseline_rate, 1),
                    "ratio": round(baseline_rate / watched_rate, 3), "n": n, "detail": detail})
    return out
