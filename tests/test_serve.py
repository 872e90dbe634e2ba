"""`etanche serve` runs gunicorn and the whole stack answers over real HTTP."""

import fcntl
import time
import urllib.error
import urllib.request

import pytest

from tests.cli_helpers import clean_env, run_etanche
from tests.servers import running_server


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = clean_env(tmp_path_factory.mktemp("serve") / "var")
    assert run_etanche("init", env=env).returncode == 0
    with running_server(env) as base:
        yield base


def _get(url):
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        return opener.open(url, timeout=5)
    except urllib.error.HTTPError as exc:
        return exc


def test_it_serves_healthz_with_gunicorn(server):
    response = _get(server + "/healthz")
    assert response.status == 200
    assert response.headers["Server"] == "gunicorn"  # no version number leaked
    assert response.read() == b"ok\n"


def test_it_redirects_anonymous_home_to_login(server):
    response = _get(server + "/")
    assert response.status == 302
    assert response.headers["Location"] == "/login/?next=/"


def test_it_renders_the_login_page(server):
    response = _get(server + "/login/")
    assert response.status == 200
    assert "Connexion" in response.read().decode()
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_it_serves_static_files(server):
    response = _get(server + "/static/etanche/etanche.css")
    assert response.status == 200


def _live_worker_locks(data_dir) -> list:
    """Lock files of running `etanche worker` processes (their POSIX lock is held)."""
    held = []
    for path in sorted((data_dir / "workers").glob("w*.lock")):
        with open(path, "r+b") as handle:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                held.append(path)
    return held


def test_it_runs_a_task_worker_beside_gunicorn_and_stops_it_with_gunicorn(tmp_path):
    data_dir = tmp_path / "var"
    env = clean_env(data_dir)
    assert run_etanche("init", env=env).returncode == 0
    with running_server(env):
        deadline = time.monotonic() + 30
        while not (data_dir / "workers").is_dir() or not _live_worker_locks(data_dir):
            assert time.monotonic() < deadline, "no worker started within 30 s"
            time.sleep(0.1)
        assert len(_live_worker_locks(data_dir)) == 1
    # Stopped with gunicorn, cleanly: it released and removed its lock file.
    assert list((data_dir / "workers").iterdir()) == []


def test_it_can_leave_the_worker_to_the_operator(tmp_path):
    data_dir = tmp_path / "var"
    env = clean_env(data_dir, ETANCHE_SERVE_WORKER="0")
    assert run_etanche("init", env=env).returncode == 0
    with running_server(env) as base:
        assert _get(base + "/healthz").status == 200
        time.sleep(1)  # the worker would have started with gunicorn: there is none
        assert not (data_dir / "workers").exists() or not _live_worker_locks(data_dir)
