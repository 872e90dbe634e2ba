"""Run the WSGI application under gunicorn, configured from Python (no config file)."""

from gunicorn.app.base import BaseApplication

from etanche.ops import housekeeping
from etanche.ops.worker_process import WorkerProcess
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
            "on_exit": lambda server: worker.stop() if worker is not None else None,
        }
    ).run()
