"""The `etanche worker` that the `etanche serve` master keeps running beside gunicorn.

A separate process, not a thread of the master: gunicorn forks its web
workers from the master, and a task (an export of 500,000 patients) must not
share a process with the web server. Started like housekeeping's jobs (our own
interpreter, no pipe held: see housekeeping.run_once); restarted if it dies,
after a pause; stopped with SIGTERM when gunicorn stops, then killed if its
task does not end in time, which loses nothing (ops/worker.py).
"""

import logging
import subprocess
import sys
import threading

log = logging.getLogger("etanche.worker")

RESTART_AFTER_SECONDS = 5
STOP_WITHIN_SECONDS = 15
COMMAND = [sys.executable, "-c",
           "import sys; from etanche.ops.cli import main; sys.exit(main())", "worker"]


class WorkerProcess:
    def __init__(self, argv: list[str] = COMMAND):
        self.argv = argv
        self.process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self._keep_running, name="etanche-worker", daemon=True).start()

    def _spawn(self) -> subprocess.Popen | None:
        with self._lock:
            if self._stopping.is_set():
                return None
            self.process = subprocess.Popen(  # noqa: S603  (our own interpreter, fixed arguments)
                self.argv, stdin=subprocess.DEVNULL, close_fds=False)
            return self.process

    def _keep_running(self) -> None:
        while (process := self._spawn()) is not None:
            log.info("worker process %s started", process.pid)
            # gunicorn's master may reap it first; wait() then returns all the same.
            code = process.wait()
            if self._stopping.wait(RESTART_AFTER_SECONDS if code != 0 else 1):
                return
            log.error("worker process %s exited (%s); starting another", process.pid, code)

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_WITHIN_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("worker process %s still busy: killed, its task will run again",
                        process.pid)
            process.kill()
            process.wait()
