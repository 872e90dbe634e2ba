"""Build an export's batches on every core, in order, in bounded memory.

Reading, unsealing and formatting a batch is pure CPU in Python, so one
process caps an export near 10,000 patients/s (bench/RESULTS.md, export_500k).
The batches go through `lib/forked.py` (forked workers, results in order, a
bounded window); small exports, and any export produced inside an open
transaction or a threaded process, stay in one process.
"""

from django.conf import settings

from etanche.exports import profiles
from etanche.exports.csv_layout import CsvWriter
from etanche.exports.fhir_ndjson import NdjsonWriter
from etanche.exports.records import read_batch
from etanche.lib.forked import fork_workers, ordered_map


def workers_for(rows: int) -> int:
    return fork_workers(settings.ETANCHE_EXPORT_WORKERS, rows,
                        settings.ETANCHE_EXPORT_PARALLEL_MIN)


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


def formatted(tasks, workers: int):
    """Yield format_batch(task) for each task, in order."""
    return ordered_map(format_batch, tasks, workers)
