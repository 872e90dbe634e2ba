"""Build an export's batches on every core, in order, in bounded memory.

Reading, unsealing and formatting a batch is pure CPU in Python, so one
process caps an export near 10,000 patients/s (bench/RESULTS.md, export_500k).
Forked workers each take a batch of ids, open their own database connection,
and return the batch's bytes; the parent feeds them to age in their original
order, with at most WINDOW batches in flight so memory stays bounded whatever
the export's size. Small exports, and any export produced inside an open
transaction (workers could not see its rows), stay in one process.

Forking is sound only from a process with one thread: a lock another thread
held at the fork stays held forever in the child. The producers (`etanche
worker`, `etanche export produce`) have one thread; anywhere else (a threaded
web worker, say) the export stays in one process. Fork and not spawn: children
inherit the parent's settings and vault state instead of rebuilding them.
"""

import multiprocessing
import os
import signal
import threading
from collections import deque

from django.conf import settings
from django.db import connection, connections

from etanche.exports import profiles
from etanche.exports.csv_layout import CsvWriter
from etanche.exports.fhir_ndjson import NdjsonWriter
from etanche.exports.records import read_batch

WINDOW_PER_WORKER = 2


def workers_for(rows: int) -> int:
    wanted = settings.ETANCHE_EXPORT_WORKERS or os.cpu_count() or 1
    if (wanted <= 1 or rows < settings.ETANCHE_EXPORT_PARALLEL_MIN
            or connection.in_atomic_block or threading.active_count() > 1):
        return 1
    return wanted


def writer_for(fmt: str, profile):
    return (NdjsonWriter if fmt == "ndjson" else CsvWriter)(profile)


def format_batch(task) -> tuple[bytes, int]:
    """(lab_id, profile name, format, ids, since, pseudonym key, canary row, canary index)."""
    lab_id, profile_name, fmt, ids, since, key, canary_row, canary_at = task
    profile = profiles.get(profile_name)
    batch = read_batch(lab_id, profile, ids, since=since, pseudonym_key=key) if ids else []
    if canary_row is not None:
        batch.insert(min(canary_at, len(batch)), canary_row)
    return writer_for(fmt, profile).records(batch), len(batch)


def _child_start() -> None:
    # The parent closed its connections before forking; make sure none is shared.
    for alias in connections:
        connections[alias].close()
    # The worker's handlers wait for the task to end; a child must die when the pool ends.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def formatted(tasks, workers: int):
    """Yield format_batch(task) for each task, in order."""
    if workers <= 1:
        yield from map(format_batch, tasks)
        return
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_child_start) as pool:
        pending = deque()
        for task in tasks:
            pending.append(pool.apply_async(format_batch, (task,)))
            if len(pending) >= workers * WINDOW_PER_WORKER:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
