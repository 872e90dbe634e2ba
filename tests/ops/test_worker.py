"""The worker's liveness locks and its recovery of tasks left RUNNING by dead workers."""

import subprocess
import sys

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from etanche.exports.tasks import produce_export_task
from etanche.ops import worker

HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
"""


@pytest.fixture
def live_worker_id():
    """The id of a worker that is alive: another process holds its lock."""
    worker_id = "w1-0123456789ab"
    path = worker._locks_dir() / f"{worker_id}.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    yield worker_id
    holder.kill()
    holder.wait()
    path.unlink(missing_ok=True)


def test_a_worker_is_alive_while_its_process_holds_the_lock(live_worker_id):
    assert worker.is_alive(live_worker_id)
    assert not worker.is_alive("w2-ba9876543210")  # no lock file at all


def test_a_dead_workers_lock_is_free_and_goes():
    path = worker._locks_dir() / "w3-00000000000a.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    assert worker.is_alive("w3-00000000000a")
    holder.kill()
    holder.wait()
    assert not worker.is_alive("w3-00000000000a")
    assert not path.exists()


def _running(worker_ids: list[str]) -> DBTaskResult:
    result = produce_export_task.enqueue(1)
    row = DBTaskResult.objects.get(pk=result.id)
    for worker_id in worker_ids:
        row.claim(worker_id)
    return row


def test_recovery_requeues_only_the_tasks_of_dead_workers(db, live_worker_id):
    dead = _running(["w4-0000000000aa"])
    alive = _running([live_worker_id])
    foreign = _running(["0123456789abcdefghijklmnopqrstuv"])  # the library's db_worker
    mine = _running(["w5-0000000000bb"])
    tired = _running(["w6-0000000000c1", "w6-0000000000c2", "w6-0000000000c3"])

    recovered = worker.recover_orphans(own_id="w5-0000000000bb")

    assert recovered == [str(dead.pk)]
    states = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert states[dead.pk] == TaskResultStatus.READY
    assert states[alive.pk] == states[foreign.pk] == states[mine.pk] == TaskResultStatus.RUNNING
    assert states[tired.pk] == TaskResultStatus.FAILED
    assert DBTaskResult.objects.get(pk=tired.pk).exception_class_path.endswith("WorkerLost")
    assert worker.recover_orphans(own_id="w5-0000000000bb") == []  # once only



def test_rounds_drain_a_backlog_and_one_failing_round_stops_nothing(transactional_db, monkeypatch):
    backlog, calls = [3], []

    def draining():
        calls.append("drain")
        if backlog[0]:
            backlog[0] -= 1
            return 1
        return 0

    def broken():
        calls.append("broken")
        raise RuntimeError("a round failed")

    monkeypatch.setattr(worker, "ROUNDS", [worker.Round("drain", 3600, draining),
                                           worker.Round("broken", 3600, broken)])
    worker.run(interval=0.01, batch=True)
    # Three busy passes, then one idle pass that ends the batch; the broken round is
    # tried once (its period is an hour) and the worker went on.
    assert calls.count("drain") == 4 and calls.count("broken") == 1 and backlog == [0]
