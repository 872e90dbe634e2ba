"""nginx (deploy/nginx/etanche.conf) terminating TLS in front of two application servers
(issue 22, item 4): login, a registration, one session across both servers, and a server
stopped under traffic loses no request."""

import http.client
import re
import shutil
import ssl
import threading
import time
import warnings

import pytest
import requests

from tests.cli_helpers import run_etanche
from tests.db_helpers import fresh_instance
from tests.deploy.stack import AppServer, make_test_ca, ready_user, render_site, running_nginx, totp
from tests.servers import free_port

pytestmark = pytest.mark.once

PASSWORD = "Vert-Cormoran-Fenouil-1987"  # noqa: S105  a test account's
REGISTRATION = {"birth_name": "Le Goff", "first_names": "Maëlle", "birth_date": "1984-03-02",
                "sex": "F", "birthplace_code": "29019", "phone": "0639980051"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not (shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")):
        pytest.skip("nginx is not installed (scripts/test-system-deps installs it)")
    where = tmp_path_factory.mktemp("deploy")
    ca, cert, key = make_test_ca(where / "tls")
    https_port, http_port = free_port(), free_port()
    origin = f"https://localhost:{https_port}"
    with fresh_instance(where) as env:
        demo = run_etanche("demo", env=env)
        assert demo.returncode == 0, demo.stderr
        totp_key = ready_user(env, "julien.martin", PASSWORD)
        env = {**env, "ETANCHE_BEHIND_TLS": "1", "ETANCHE_CSRF_TRUSTED_ORIGINS": origin,
               "ETANCHE_TRUSTED_PROXIES": "127.0.0.1"}
        apps = [AppServer(env).start(), AppServer(env).start()]
        site = render_site(http_port=http_port, https_port=https_port,
                           apps=[a.port for a in apps], cert=cert, key=key,
                           error_log=where / "etanche-error.log")
        try:
            with running_nginx(where / "nginx", site):
                yield {"origin": origin, "ca": str(ca), "apps": apps, "totp": totp_key,
                       "http": f"http://127.0.0.1:{http_port}", "https_port": https_port}
        finally:
            for app in apps:
                app.stop()


def _csrf(session, origin, path) -> str:
    page = session.get(origin + path, timeout=10)
    assert page.status_code == 200, (path, page.status_code)
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    return found.group(1)


def _post(session, origin, path, data):
    data = {**data, "csrfmiddlewaretoken": _csrf(session, origin, path)}
    return session.post(origin + path, data=data, allow_redirects=False, timeout=30,
                        headers={"Origin": origin, "Referer": origin + path})


@pytest.fixture(scope="module")
def signed_in(stack):
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the test CA
    session.verify = stack["ca"]
    origin = stack["origin"]
    step1 = _post(session, origin, "/login/", {"username": "julien.martin",
                                               "password": PASSWORD})
    assert step1.status_code == 302, step1.text[:500]
    code_page = step1.headers["Location"]
    step2 = _post(session, origin, code_page if code_page.startswith("/") else
                  code_page.removeprefix(origin), {"code": totp(stack["totp"])})
    assert step2.status_code == 302, step2.text[:500]
    home = session.get(origin + "/", allow_redirects=False, timeout=10)
    assert home.status_code == 200
    return session


def test_tls_is_modern_with_hsts_and_no_server_version(stack):
    context = ssl.create_default_context(cafile=stack["ca"])
    connection = http.client.HTTPSConnection("localhost", stack["https_port"], context=context,
                                             timeout=10)
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    assert response.status == 200
    assert connection.sock.version() in ("TLSv1.3", "TLSv1.2")
    assert response.getheader("Strict-Transport-Security") == (
        "max-age=63072000; includeSubDomains")
    assert response.getheader("Server") == "nginx"  # server_tokens off: no version
    connection.close()

    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(stack["ca"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        http.client.HTTPSConnection("localhost", stack["https_port"], context=old,
                                    timeout=10).request("GET", "/healthz")

    plain = requests.get(stack["http"] + "/login/", allow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")


def test_a_body_over_the_limit_is_refused_before_the_app(stack):
    context = ssl.create_default_context(cafile=stack["ca"])
    connection = http.client.HTTPSConnection("localhost", stack["https_port"], context=context,
                                             timeout=10)
    connection.putrequest("POST", "/login/")
    connection.putheader("Content-Length", str(60 * 1024 * 1024))
    connection.endheaders()
    assert connection.getresponse().status == 413


def test_login_and_a_registration_through_nginx(stack, signed_in):
    created = _post(signed_in, stack["origin"], "/patients/nouveau/",
                    {**REGISTRATION, "not_duplicate": "on"})
    assert created.status_code == 302, created.text[:800]
    assert re.match(r"^/patients/\d+/$", created.headers["Location"])
    record = signed_in.get(stack["origin"] + created.headers["Location"], timeout=10)
    assert record.status_code == 200 and "LE GOFF" in record.text.upper()


def test_one_session_is_good_on_both_application_servers(stack, signed_in):
    cookies = "; ".join(f"{c.name}={c.value}" for c in signed_in.cookies)
    for app in stack["apps"]:
        # Straight to each server, as nginx would pass it: same cookie, same answer.
        direct = requests.get(f"http://127.0.0.1:{app.port}/", allow_redirects=False, timeout=10,
                              headers={"Cookie": cookies, "X-Forwarded-Proto": "https",
                                       "Host": "localhost"})
        assert direct.status_code == 200, (app.port, direct.status_code)
    for _ in range(6):  # round robin through nginx
        assert signed_in.get(stack["origin"] + "/", allow_redirects=False,
                             timeout=10).status_code == 200


def test_stopping_one_server_under_traffic_loses_no_request(stack, signed_in):
    outcomes = []
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            try:
                outcomes.append(signed_in.get(stack["origin"] + "/", allow_redirects=False,
                                              timeout=20).status_code)
            except requests.RequestException as exc:
                outcomes.append(type(exc).__name__)

    runner = threading.Thread(target=traffic)
    runner.start()
    try:
        time.sleep(1.0)
        stack["apps"][0].stop()  # graceful: gunicorn finishes what it holds
        time.sleep(2.0)
    finally:
        stop.set()
        runner.join()
    assert len(outcomes) > 10
    assert set(outcomes) == {200}, [o for o in outcomes if o != 200][:5]
    # And a write still goes through on the server left.
    created = _post(signed_in, stack["origin"], "/patients/nouveau/",
                    {**REGISTRATION, "first_names": "Nolwenn", "phone": "0639980052",
                     "not_duplicate": "on"})
    assert created.status_code == 302
