"""A front-office day under load (issue 22, item 5): staff log in (password + TOTP),
search patients, register new ones, enter requests and print their labels.

Run it as its own process, never imported by pytest (gevent's monkey-patching breaks
ssl in-process):

    .venv/bin/locust -f bench/locustfile.py --headless -u 50 -r 5 -t 10m \\
        --host https://lis.lab.example --csv bench/runs/load

Environment:
- ETANCHE_LOAD_ACCOUNTS: a JSON file [{"username", "password", "totp_key" (hex)}, ...],
  one account per simulated person (tests/deploy/test_load_smoke.py writes it with
  `etanche shell`); a person is never two sessions at once (shared-use detection).
- ETANCHE_LOAD_ACKED: a file where each registration and request the server
  acknowledged (a redirect to the new record) is appended as "patient ID" or
  "order ID": what the client saw succeed, checked against the database afterwards.
- ETANCHE_LOAD_CA: the CA file to trust for https (a test CA); default: the system's.
- ETANCHE_LOAD_FLOOR: the path of a floor page (bench/plain/views.py `floor`, served only
  with the bench settings: /bench/plain/plancher/). When set, each person also fetches
  it, form then POST as for the other pages, at weight 1 beside the day's 11: the floor
  under the same load (bench/latency.py). Unset (tests/deploy): the day alone.
- ETANCHE_LOAD_TIMINGS: a file where every request is appended as one tab-separated
  line: start (epoch seconds), method, name, milliseconds, and "" or the failure
  (exact times, where locust's own statistics round to whole milliseconds and above).
"""

import hashlib
import hmac
import itertools
import json
import os
import random
import re
import struct
import threading
import time
from datetime import date

from locust import HttpUser, between, events, task

ACCOUNTS = json.loads(open(os.environ["ETANCHE_LOAD_ACCOUNTS"], encoding="utf-8").read())
ACKED = os.environ.get("ETANCHE_LOAD_ACKED")
CA = os.environ.get("ETANCHE_LOAD_CA")
FLOOR = os.environ.get("ETANCHE_LOAD_FLOOR")
TIMINGS = os.environ.get("ETANCHE_LOAD_TIMINGS")
_next_account = itertools.count()
_ack_lock = threading.Lock()
_serial = itertools.count(random.randrange(10_000))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PATIENT = re.compile(r"^/patients/(\d+)/$")
ORDER = re.compile(r"^/demandes/(\d+)/$")
# Synthetic people only: names and first names common in France, no one meant.
NAMES = ("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois")
FIRST = ("Camille", "Louise", "Léa", "Hugo", "Lucas", "Jules", "Chloé", "Nathan")


def totp(key: bytes, step: int = 30, digits: int = 6) -> str:
    mac = hmac.new(key, struct.pack(">Q", int(time.time() // step)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


def acknowledge(kind: str, record_id: str) -> None:
    if ACKED:
        with _ack_lock, open(ACKED, "a", encoding="utf-8") as out:
            out.write(f"{kind} {record_id}\n")


if TIMINGS:
    # Line-buffered: a run stopped at its deadline keeps every line written before it.
    _timings = open(TIMINGS, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    @events.request.add_listener
    def _time(request_type, name, response_time, start_time, exception=None, response=None,
              **_ignored):
        if _timings.closed:  # a request that ended while locust was quitting
            return
        failure = ""
        if exception is not None:
            status = getattr(response, "status_code", None) if response is not None else None
            failure = f"http_{status}" if status else type(exception).__name__
        _timings.write(f"{start_time:.6f}\t{request_type}\t{name}\t{response_time:.3f}"
                       f"\t{failure}\n")

    @events.quitting.add_listener
    def _close(**_ignored):
        _timings.close()


class FrontDesk(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self):
        self.account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)]
        if CA:
            self.client.verify = CA
        self.patients: list[str] = []
        self.orders: list[str] = []
        self._log_in()

    def _post(self, path, data, name):
        page = self.client.get(path, name=name + " (form)")
        found = CSRF.search(page.text or "")
        if not found:
            return None
        origin = self.host.rstrip("/")
        return self.client.post(path, data={**data, "csrfmiddlewaretoken": found.group(1)},
                                allow_redirects=False, name=name,
                                headers={"Origin": origin, "Referer": origin + path})

    def _log_in(self):
        first = self._post("/login/", {"username": self.account["username"],
                                       "password": self.account["password"]}, "login")
        if first is None or first.status_code != 302:
            return
        step = first.headers["Location"]
        self._post(step, {"code": totp(bytes.fromhex(self.account["totp_key"]))}, "login code")

    @task(5)
    def search(self):
        self._post("/patients/", {"name": random.choice(NAMES),
                                  "birth_date": "1980-01-01"}, "search")

    @task(3)
    def register(self):
        serial = next(_serial)
        data = {"birth_name": random.choice(NAMES), "first_names": random.choice(FIRST),
                "birth_date": date(1940 + serial % 60, 1 + serial % 12, 1 + serial % 28)
                .isoformat(), "sex": random.choice("FM"), "birthplace_code": "29019",
                "phone": f"06{39980000 + serial % 10000:08d}", "not_duplicate": "on"}
        response = self._post("/patients/nouveau/", data, "registration")
        if response is not None and response.status_code == 302:
            found = PATIENT.match(response.headers.get("Location", ""))
            if found:
                self.patients.append(found.group(1))
                acknowledge("patient", found.group(1))

    @task(2)
    def request_entry(self):
        if not self.patients:
            return
        patient = random.choice(self.patients)
        data = {"tests": "1104 1208", "prescriber_name": "Dr Le Bras",
                "prescription_date": date.today().isoformat(), "q_anticoagulant": "aucun"}
        response = self._post(f"/patients/{patient}/demandes/nouvelle/", data, "request entry")
        if response is not None and response.status_code == 302:
            found = ORDER.match(response.headers.get("Location", ""))
            if found:
                self.orders.append(found.group(1))
                acknowledge("order", found.group(1))

    if FLOOR:
        @task(1)
        def floor(self):
            self._post(FLOOR, {}, "floor")

    @task(1)
    def labels(self):
        if self.orders:
            self.client.get(f"/demandes/{random.choice(self.orders)}/etiquettes.pdf",
                            name="labels")
