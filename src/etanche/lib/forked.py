"""Run a pure-CPU function over a stream of tasks on every core, in order, in bounded memory.

Sealing, unsealing, keying and formatting are pure CPU in Python, so one process
caps a bulk job (an export, an import, a breach scan) at what one core does.
Forked workers each take a task, open their own database connection if they need
one, and return its result; the caller gets the results in the tasks' order, with
at most `window` tasks in flight so memory stays bounded whatever the job's size.

Forking is sound only from a process with one thread: a lock another thread held
at the fork stays held forever in the child. `fork_workers` therefore answers 1 in
a threaded process (a web worker), inside an open transaction (workers could not
see its rows), or for a job too small to repay the fork. Fork and not spawn:
children inherit the parent's settings and vault state instead of rebuilding them.
"""

import gc
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, connections

WINDOW_PER_WORKER = 2


def fork_workers(wanted: int | None, rows: int, min_rows: int) -> int:
    """How many processes a job of `rows` may use (`wanted` 0 or None: one per core)."""
    wanted = wanted or os.cpu_count() or 1
    if (wanted <= 1 or rows < min_rows or connection.in_atomic_block
            or threading.active_count() > 1):
        return 1
    return wanted


def _child_start() -> None:
    # The parent closed its connections before forking; make sure none is shared.
    for alias in connections:
        connections[alias].close()
    # The caller's handlers wait for the job to end; a child must die when the pool ends.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # Everything inherited from the parent lives as long as the child: keep the collector's
    # full passes off it (gc.freeze, as the gc docs advise for fork without exec). Those
    # passes over the parent's heap were a fifth of a breach scan worker's CPU.
    gc.freeze()


_frozen_depth = 0


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the collector's full passes off what the process already holds, for a bulk job's
    parent: its batches arrive as many small containers (unpickled results, rows to write),
    and each full pass walked the whole heap (Django, the modules) with them. Measured: a
    quarter of an import's parent CPU. `gc.freeze` and `gc.unfreeze` are documented; nested
    uses unfreeze when the outermost ends. Objects that die meanwhile are reclaimed by
    reference counting as always; only cycles among them wait for the unfreeze."""
    global _frozen_depth
    if _frozen_depth == 0:
        gc.freeze()
    _frozen_depth += 1
    try:
        yield
    finally:
        _frozen_depth -= 1
        if _frozen_depth == 0:
            gc.unfreeze()


def ordered_map(fn: Callable, tasks: Iterable, workers: int,
                window_per_worker: int = WINDOW_PER_WORKER) -> Iterator:
    """Yield fn(task) for each task, in the tasks' order (fn must be a module-level function)."""
    if workers <= 1:
        yield from map(fn, tasks)
        return
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with frozen_heap(), context.Pool(workers, initializer=_child_start) as pool:
        pending = deque()
        for task in tasks:
            pending.append(pool.apply_async(fn, (task,)))
            if len(pending) >= workers * window_per_worker:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
