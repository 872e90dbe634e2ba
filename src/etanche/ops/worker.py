"""`etanche worker`: runs the queued tasks (django-tasks' database backend), survives kill -9.

The library's worker claims a task by marking its row RUNNING under its
worker id; if that worker dies, the row stays RUNNING and nothing runs it
again (docs/adr/0006-task-queue.md). So each of our workers holds a POSIX
lock on `$ETANCHE_DATA_DIR/workers/<id>.lock` while it lives: the kernel drops
it the instant the process dies, however it dies, and children forked by a
task do not inherit it. Before looking for work, a worker puts back to READY
every RUNNING task whose worker's lock is free; our tasks start from scratch
when run again. Workers share the data directory (exports are written there
too), so they share these locks.
"""

import fcntl
import logging
import os
import re
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.db.utils import OperationalError
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME, TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker as LibraryWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from etanche.breach import work as breach_work
from etanche.imports import jobs as import_jobs
from etanche.interop import sender as interop_sender
from etanche.watch import engine as watch_engine

log = logging.getLogger("etanche.worker")

# A task whose worker died this many times is failed, not run again: it may be what kills it.
MAX_ATTEMPTS = 3
RECOVERY_EVERY_SECONDS = 10
_OUR_ID = re.compile(r"w[0-9]+-[0-9a-f]{12}")


class WorkerLost(Exception):
    """Recorded on a task whose worker died too often while running it."""


def _locks_dir() -> Path:
    path = Path(settings.DATA_DIR) / "workers"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


class Liveness:
    """This process's worker id and the lock that says it is alive."""

    def __init__(self):
        self.worker_id = f"w{os.getpid()}-{secrets.token_hex(6)}"
        self.path = _locks_dir() / f"{self.worker_id}.lock"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def release(self) -> None:
        self.path.unlink(missing_ok=True)
        os.close(self._fd)


def is_alive(worker_id: str) -> bool:
    """Whether the worker holding that id still runs (never ask about yourself: closing
    any descriptor of a locked file drops this process's lock on it)."""
    path = _locks_dir() / f"{worker_id}.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    return False


def sweep_dead_locks(older_than_seconds: int = 60) -> None:
    """Delete the lock files of workers that died idle (only old ones: a worker
    starting now creates its file an instant before it locks it)."""
    limit = time.time() - older_than_seconds
    for path in _locks_dir().glob("w*.lock"):
        try:
            if path.stat().st_mtime < limit:
                is_alive(path.name.removesuffix(".lock"))
        except FileNotFoundError:
            continue


def recover_orphans(own_id: str) -> list[str]:
    """Put back to READY the tasks left RUNNING by dead workers; returns their ids."""
    recovered = []
    for task in DBTaskResult.objects.running().only("id", "worker_ids"):
        last = task.worker_ids[-1] if task.worker_ids else ""
        # Ids of other shapes belong to workers we cannot see (the library's own db_worker).
        if last == own_id or not _OUR_ID.fullmatch(last) or is_alive(last):
            continue
        if len(task.worker_ids) >= MAX_ATTEMPTS:
            task.set_failed(WorkerLost(f"its worker died {len(task.worker_ids)} times"))
            log.error("task %s failed: its worker died %d times", task.id, MAX_ATTEMPTS)
            continue
        # Conditional: two workers recovering at once put it back once.
        if DBTaskResult.objects.filter(pk=task.pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.READY, started_at=None):
            log.warning("task %s: its worker %s died; queued again", task.id, last)
            recovered.append(str(task.id))
    return recovered


@dataclass(frozen=True)
class Round:
    """Periodic work the worker does between tasks: follow the journal feed, send the
    outbox. `run` returns how much it did; a round that did something runs again at
    once, so a backlog drains at full speed and an idle one costs a query per period."""

    name: str
    every_seconds: float
    run: Callable[[], int]


# Each domain app that works in the background adds its round here (ops is the layer
# that may import them all). Order matters only for latency, not for correctness.
ROUNDS: list[Round] = [
    Round("interop_outbox", settings.ETANCHE_INTEROP_ROUND_SECONDS, interop_sender.send_round),
    Round("watch", settings.ETANCHE_WATCH_ROUND_SECONDS, watch_engine.run_round),
    # Uploaded import files past ETANCHE_IMPORT_KEEP_HOURS are destroyed (issue 20).
    Round("import_purge", 600, import_jobs.purge_expired),
    # Sealed breach uploads not scanned within 24 h, or whose process died (issue 18).
    Round("breach_spool_purge", 3600, breach_work.purge_expired),
]


class Worker(LibraryWorker):
    """The library's worker (claiming, running, signals), our loop around it."""

    def __init__(self, *, interval: float, batch: bool, liveness: Liveness):
        super().__init__(
            queue_names=[DEFAULT_TASK_QUEUE_NAME], interval=interval, batch=batch,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS, startup_delay=False, max_tasks=None,
            worker_id=liveness.worker_id, excluded_queue_names=[])
        self._recovered_at = float("-inf")
        self._rounds_at = {r.name: float("-inf") for r in ROUNDS}

    def _run_rounds(self) -> bool:
        """Run each round that is due; whether any of them did something."""
        busy = False
        for work in ROUNDS:
            if time.monotonic() - self._rounds_at[work.name] < work.every_seconds:
                continue
            try:
                done = work.run()
            except Exception:  # noqa: BLE001  one failing round must not stop tasks or others
                log.exception("round %s failed; tried again next period", work.name)
                done = 0
            self._rounds_at[work.name] = float("-inf") if done else time.monotonic()
            busy = busy or bool(done)
        return busy

    def _claim(self) -> tuple[DBTaskResult | None, bool]:
        """(the next ready task, claimed, or None; whether the queue could be read)."""
        tasks = DBTaskResult.objects.ready().filter(
            backend_name=self.backend_name, queue_name__in=self.queue_names)
        try:
            with exclusive_transaction(tasks.db):
                task = tasks.get_locked()
                if task is not None:
                    task.claim(self.worker_id)
                return task, True
        except OperationalError as exc:
            if is_locked_database_exception(exc):  # SQLite busy: try again soon
                return None, False
            raise

    def run_task(self, db_task_result: DBTaskResult) -> None:
        log.info("task %s (%s) started", db_task_result.id, db_task_result.task_path)
        super().run_task(db_task_result)
        db_task_result.refresh_from_db(fields=["status", "exception_class_path"])
        if db_task_result.exception_class_path in ("builtins.SystemExit",
                                                   "builtins.KeyboardInterrupt"):
            # Stopped, not failed (a second Ctrl+C): the next worker runs it again.
            DBTaskResult.objects.filter(pk=db_task_result.pk).update(
                status=TaskResultStatus.READY, started_at=None)
            log.warning("task %s interrupted; queued again", db_task_result.id)
        else:
            log.info("task %s %s", db_task_result.id, db_task_result.status.lower())

    def run(self) -> None:
        log.info("worker %s ready", self.worker_id)
        while self.running:
            close_old_connections()
            if time.monotonic() - self._recovered_at >= RECOVERY_EVERY_SECONDS:
                recover_orphans(self.worker_id)
                self._recovered_at = time.monotonic()
            task, readable = self._claim()
            if task is not None:
                self.run_task(task)
                continue
            if self._run_rounds():
                continue
            if self.batch and readable:
                return
            if self.running:
                time.sleep(self.interval)


def run(*, interval: float, batch: bool = False) -> None:
    """Run tasks until stopped (SIGTERM, SIGINT) or, with `batch`, until none is left."""
    liveness = Liveness()
    sweep_dead_locks()
    # Restored on the way out: a caller running one batch in-process keeps its own.
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM,
                                                       signal.SIGQUIT)}
    try:
        worker = Worker(interval=interval, batch=batch, liveness=liveness)
        worker.configure_signals()
        worker.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        liveness.release()
