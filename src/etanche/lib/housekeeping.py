"""Periodic jobs run by the `etanche serve` master process.

Expired exports must disappear even if nobody set up cron (DESIGN §9, finding
F3 of the 2021 leak: migration files were never deleted). The master runs each
job as a separate `etanche` process, so a failing job never takes the web
server down and holds no database connection across the workers' fork.
"""

import logging
import subprocess
import sys
import threading

log = logging.getLogger("etanche.housekeeping")


def _command(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from etanche.cli import main; sys.exit(main())",
            *args]


def jobs(checkpoint_target: str | None) -> list[tuple[str, list[str]]]:
    planned = [("export purge", _command("export", "purge"))]
    if checkpoint_target:
        planned.append(
            ("journal checkpoint", _command("journal", "checkpoint", "--to", checkpoint_target))
        )
    return planned


def run_once(planned) -> None:
    for name, argv in planned:
        try:
            result = subprocess.run(  # noqa: S603  (our own interpreter and fixed arguments)
                argv, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            log.error("housekeeping: %s timed out", name)
            continue
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no message"])[-1]
            log.error("housekeeping: %s failed: %s", name, last)


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
