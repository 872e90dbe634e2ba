"""Run the WSGI application under gunicorn, configured from Python (no config file)."""

import gc

from django.db import connections
from gunicorn.app.base import BaseApplication

from etanche.ops import housekeeping
from etanche.ops.worker_process import WorkerProcess
from etanche.vault import master
from etanche.vault.errors import MasterKeyError
from etanche.wsgi import application


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return application


def hold_master_key(worker) -> None:
    """gunicorn's post_worker_init: each worker verifies and holds the master key as it
    starts, so a key file lost while the server runs stops none of them (a worker that had
    served no request yet would otherwise read the file at its first one). In the worker,
    after the fork: an HSM or KMS session must not be shared across a fork. A key missing
    now is not fatal: requests that need it get the 503 page until it can be read."""
    try:
        master.kek()
    except MasterKeyError as exc:
        worker.log.warning("master key not available yet: %s", exc)
    finally:
        connections.close_all()  # the request threads open their own


def freeze_before_fork(server, worker) -> None:
    """gunicorn's pre_fork: what the master has loaded (Django, the application, reference
    data) moves to the collector's permanent generation before each worker is forked. A
    worker's full collections then walk only what it made itself: 17 ms instead of about
    100 ms in a search benchmark (bench/RESULTS.md Run 19), a pause that lands on whichever
    request is running; and the collector no longer writes to the pages the worker shares
    with the master (Python's documentation of gc.freeze)."""
    gc.freeze()


def run_gunicorn(
    *, host: str, port: int, workers: int, threads: int, housekeeping_seconds: int = 0,
    checkpoint_target: str | None = None, with_worker: bool = True,
) -> None:
    worker = WorkerProcess() if with_worker else None

    def when_ready(server):
        if worker is not None:
            worker.start()
        if housekeeping_seconds > 0:

            housekeeping.start(housekeeping_seconds, checkpoint_target)

    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            # No access log: request lines would be a second, unjournaled record
            # of who looked at what; the journal is the record.
            "accesslog": None,
            "errorlog": "-",
            "proxy_allow_ips": "127.0.0.1",
            "limit_request_line": 8190,
            "graceful_timeout": 10,
            # A secretary pauses between pages: gunicorn's 2 s default closed the
            # connection under her next click (bench latency: every failure was a reset).
            "keepalive": 5,
            "umask": 0o077,
            # The control socket would be one more unauthenticated door.
            "control_socket_disable": True,
            "when_ready": when_ready,
            "pre_fork": freeze_before_fork,
            "post_worker_init": hold_master_key,
            "on_exit": lambda server: worker.stop() if worker is not None else None,
        }
    ).run()
