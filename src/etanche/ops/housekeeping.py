"""Periodic jobs run by the `etanche serve` master process.

Expired exports must disappear even if nobody set up cron (docs/exports.md,
finding F3 of the 2021 leak: migration files were never deleted). The master runs each
job as a separate `etanche` process, so a failing job never takes the web
server down and holds no database connection across the workers' fork.
"""

import logging
import subprocess
import sys
import tempfile
import threading

log = logging.getLogger("etanche.housekeeping")


def _command(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from etanche.ops.cli import main; sys.exit(main())",
            *args]


def jobs(checkpoint_target: str | None) -> list[tuple[str, list[str]]]:
    planned = [("export purge", _command("export", "purge")),
               ("retention run", _command("retention", "run", "--all-labs"))]
    if checkpoint_target:
        planned.append(
            ("journal checkpoint", _command("journal", "checkpoint", "--to", checkpoint_target))
        )
    return planned


def run_once(planned) -> None:
    for name, argv in planned:
        # gunicorn forks workers at any moment, and a worker forked while we spawn
        # would inherit the write end of any pipe we hold, so we hold none:
        # output goes to a temporary file, and close_fds=False lets Python use
        # posix_spawn (vfork + exec, no error pipe) instead of fork + exec. No
        # descriptor leaks: Python opens every descriptor non-inheritable.
        with tempfile.TemporaryFile() as out:
            try:
                code = subprocess.run(  # noqa: S603  (our own interpreter and fixed arguments)
                    argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    timeout=600, check=False, close_fds=False,
                ).returncode
            except subprocess.TimeoutExpired:
                log.error("housekeeping: %s timed out", name)
                continue
            out.seek(0)
            lines = out.read().decode(errors="replace").strip().splitlines() or ["done"]
        if code != 0:
            log.error("housekeeping: %s failed: %s", name, lines[-1])
        else:
            log.info("housekeeping: %s: %s", name, lines[-1])


def start(interval_seconds: int, checkpoint_target: str | None) -> threading.Event:
    """Run the jobs now and every `interval_seconds` in a daemon thread; set the event to stop."""
    stop = threading.Event()
    planned = jobs(checkpoint_target)

    def loop():
        while not stop.is_set():
            run_once(planned)
            stop.wait(interval_seconds)

    threading.Thread(target=loop, name="etanche-housekeeping", daemon=True).start()
    return stop
