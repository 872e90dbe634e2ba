"""The bulk path: many already checked patient envelopes, fast (demo data, imports).

Per batch: one `vault.seal_many`, one `vault.blind_indexes` per index, two
inserts (COPY on PostgreSQL, executemany on SQLite: Django's bulk_create spent
more time compiling values than the database spent storing them), one journal
entry (CREATE, {"count": n, "source": ...}), in one transaction. No query per
row. Duplicate detection is skipped: the synthetic generator hands out unique
NIRs, and an import checks its rows before coming here.
"""

from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.utils import timezone

from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.patients import indexing
from etanche.patients.models import Patient, PatientIndex
from etanche.vault import services as vault
from etanche.vault.models import new_record_id

BATCH = 5000


def _write(model, columns: list[str], rows: list[tuple]) -> None:
    """Insert rows without the ORM's per-value compilation: COPY on PostgreSQL, else
    one executemany. Values are already database-ready (ints, bytes, datetimes)."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            # Table and column names come from the model, quoted; values are parameters.
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
            cursor.executemany(sql, rows)


PATIENT_COLUMNS = ["id", "lab_id", "sealed", "key_version", "created_at", "updated_at",
                   *(f"{name}_index" for name in indexing.COLUMNS)]
SIDE_COLUMNS = ["lab_id", "name", "value", "patient_id"]


def _insert(lab, user, envelopes: list[dict], source: str) -> list[int]:
    lab_id = lab.pk
    ids = [new_record_id() for _ in envelopes]
    tokens = vault.seal_many(lab_id, Patient.record_type(), list(zip(ids, envelopes, strict=True)))
    key_version = vault.token_key_version(tokens[0])
    columns, sides = indexing.compute(lab_id, envelopes)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    patients = [
        (pid, lab_id, token, key_version, now, now, *(cols[name] for name in indexing.COLUMNS))
        for pid, token, cols in zip(ids, tokens, columns, strict=True)
    ]
    side_rows = [
        (lab_id, name, value, pid) for pid, side in zip(ids, sides, strict=True)
        for name, value in side
    ]
    with transaction.atomic():
        _write(Patient, PATIENT_COLUMNS, patients)
        _write(PatientIndex, SIDE_COLUMNS, side_rows)
        journal(lab=lab, user=user, action=Action.CREATE, object_type="patient",
                detail={"count": len(patients), "source": source})
    return ids


def bulk_register(
    lab,
    envelopes: Iterable[dict],
    *,
    user=None,
    source: str = "demo",
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert every envelope (intake.ENVELOPE_FIELDS, already checked), `batch` at a time;
    returns how many were created."""
    done = 0
    pending: list[dict] = []
    for envelope in envelopes:
        pending.append(envelope)
        if len(pending) == batch:
            done += len(_insert(lab, user, pending, source))
            pending = []
            if progress:
                progress(done)
    if pending:
        done += len(_insert(lab, user, pending, source))
        if progress:
            progress(done)
    refresh_statistics()
    return done


def refresh_statistics() -> None:
    """After a bulk load, give PostgreSQL's planner fresh statistics at once.

    Until autovacuum gets to it, the planner believes the table is as small as
    before the load and picks plans that sort the whole lab for every batch of
    a keyset read: a 300,000-patient export took 35 s before ANALYZE and 19 s
    after (bench/RESULTS.md). SQLite has no such statistics to go stale.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Patient._meta.db_table}, {PatientIndex._meta.db_table}")
