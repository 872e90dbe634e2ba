"""Shared parts of the fault tests (issue 22, item 5): staff accounts, a short locust run
straight at one application server, a signed-in probe that reads what the fault shows,
and the check that every write the client saw acknowledged is in the database, whole.

locust runs as its own process (never imported here: gevent breaks ssl in-process).
"""

import contextlib
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import requests

from tests.cli_helpers import run_etanche
from tests.deploy.stack import ROOT, totp
from tests.deploy.test_load_smoke import CHECK, MAKE_STAFF

LOCUST = Path(sys.executable).with_name("locust")
PASSWORD = "Vert-Cormoran-Fenouil-1987"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# The synthetic names locust registers: never in a page of error nor in a log.
NAMES = ("Martin", "Bernard", "Durand", "Dubois", "Camille", "Chloé")
# A fault page shows no traceback either (the server's log may: it is the admin's).
LEAKS = ("Traceback", "File \"/", *NAMES)
# Plain http to one server: no nginx, cookies not marked Secure.
PLAIN_HTTP = {"ETANCHE_SECURE_COOKIES": "0", "ETANCHE_SEARCH_PER_MINUTE": "10000",
              "ETANCHE_SEARCH_PER_HOUR": "100000", "ETANCHE_PATIENT_READS_PER_MINUTE": "10000",
              "ETANCHE_PATIENT_READS_PER_HOUR": "100000"}


def make_staff(env, where: Path, users: int) -> tuple[Path, dict]:
    """`users` front-desk accounts for locust (a JSON file) and one more for the probe."""
    everyone = where / "everyone.json"
    made = run_etanche("shell", "-c", MAKE_STAFF.format(users=users + 1, password=PASSWORD,
                                                         path=str(everyone)), env=env)
    assert made.returncode == 0, made.stderr
    accounts = json.loads(everyone.read_text())
    (where / "accounts.json").write_text(json.dumps(accounts[:-1]))
    return where / "accounts.json", accounts[-1]


@contextlib.contextmanager
def locust(origin: str, accounts: Path, acked: Path, csv_prefix: Path, *, users: int,
           seconds: int, env: dict):
    process = subprocess.Popen(
        [str(LOCUST), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u",
         str(users), "-r", str(users), "-t", f"{seconds}s", "--host", origin, "--csv",
         str(csv_prefix), "--only-summary"],
        env={**env, "ETANCHE_LOAD_ACCOUNTS": str(accounts), "ETANCHE_LOAD_ACKED": str(acked)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield process
        _, errors = process.communicate(timeout=seconds + 120)
        assert process.returncode in (0, 1), errors[-2000:]  # 1: some requests failed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def summary(csv_prefix: Path) -> dict:
    with open(f"{csv_prefix}_stats.csv", newline="", encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    errors: dict[str, int] = {}
    with open(f"{csv_prefix}_failures.csv", newline="", encoding="utf-8") as handle:
        for failure in csv.DictReader(handle):
            kind = failure["Error"].split("for url")[0].strip()[:60]
            errors[kind] = errors.get(kind, 0) + int(failure["Occurrences"])
    return {"requests": int(row["Request Count"]), "failed": int(row["Failure Count"]),
            "p50": row["50%"], "p95": row["95%"], "p99": row["99%"], "errors": errors}


def signed_in(origin: str, account: dict) -> requests.Session:
    session = requests.Session()

    def post(path, data):
        page = session.get(origin + path, timeout=30)
        token = CSRF.search(page.text).group(1)
        return session.post(origin + path, data={**data, "csrfmiddlewaretoken": token},
                            headers={"Referer": origin + path}, allow_redirects=False,
                            timeout=30)

    first = post("/login/", {"username": account["username"], "password": account["password"]})
    assert first.status_code == 302, first.status_code
    second = post(first.headers["Location"], {"code": totp(bytes.fromhex(account["totp_key"]))})
    assert second.status_code == 302, second.status_code
    return session


def assert_fault_page(response, *, status: tuple[int, ...], words: str, in_layout: bool):
    """French, no traceback, nothing personal; `in_layout`: the site's header and styles
    (the 500 page and the vault's 503 page, web/vault_errors.py)."""
    assert response.status_code in status, (response.status_code, response.text[:300])
    assert ('class="topbar"' in response.text) is in_layout, response.text[:500]
    assert 'lang="fr"' in response.text and words in response.text, response.text[:500]
    for leak in LEAKS:
        assert leak not in response.text, leak


def assert_clean_log(text: str):
    for leak in NAMES:
        assert leak not in text, f"{leak!r} in a server log"


def assert_acknowledged_writes_whole(env, acked: Path) -> dict:
    acked.touch()
    checked = run_etanche("shell", "-c", CHECK.format(path=str(acked)), env=env)
    assert checked.returncode == 0, checked.stderr
    result = json.loads(checked.stdout.strip().splitlines()[-1])
    assert result["acked_patients"] > 0
    assert result["found_patients"] == result["opened"] == result["acked_patients"], result
    assert result["found_orders"] == result["orders_opened"] == result["acked_orders"], result
    assert result["patients_without_index"] == 0
    assert result["orders_without_tests"] == 0
    return result


def a_patient_page(env, origin: str) -> str:
    """The page of one demo patient: opening it needs the vault."""
    found = run_etanche("shell", "-c", "from etanche.patients.models import Patient; "
                        "print(Patient.objects.filter(lab__slug='demo').values_list("
                        "'pk', flat=True).first())", env=env)
    assert found.returncode == 0, found.stderr
    return f"{origin}/patients/{found.stdout.split()[-1]}/"
