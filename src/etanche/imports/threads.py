"""A function over a stream of tasks on a few threads, each on its own database connection.

For work that mostly waits on the database (an import's COPY batches): the thread waits
without holding the GIL, so two batches keep the database busy on two cores where one
left a core idle. Results come back in the tasks' order, with at most `threads` tasks
queued beyond those running, so memory stays bounded. After a failure no further task is
started; the failed task's exception is raised in its place, once the tasks already running
have ended (a batch that had begun is finished, not abandoned half-way). Each
thread closes its connection when the stream ends.
"""

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future

from django.db import connections


def ordered_in_threads(fn: Callable, tasks: Iterable, threads: int) -> Iterator:
    """Yield fn(task) for each task, in order; `threads` <= 1 runs them here, one by one."""
    if threads <= 1:
        yield from map(fn, tasks)
        return
    inbox: queue.Queue = queue.Queue(maxsize=threads)
    stop = threading.Event()

    def work() -> None:
        try:
            while (item := inbox.get()) is not None:
                future, task = item
                if stop.is_set():
                    future.cancel()
                    continue
                future.set_running_or_notify_cancel()
                try:
                    future.set_result(fn(task))
                except BaseException as exc:  # noqa: BLE001  handed to the caller, in order
                    stop.set()
                    future.set_exception(exc)
        finally:
            connections.close_all()  # this thread's own connections

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    pending: deque[Future] = deque()
    try:
        for task in tasks:
            if stop.is_set():
                break  # a task failed: its exception is raised below, in its place
            future: Future = Future()
            inbox.put((future, task))
            pending.append(future)
            if len(pending) > 2 * threads:
                yield pending.popleft().result()
        # Tasks start in order, so every task before a failed one ran: the failure is met
        # before any task cancelled after it.
        while pending:
            yield pending.popleft().result()
    finally:
        stop.set()
        for _ in workers:
            inbox.put(None)
        for worker in workers:
            worker.join()
