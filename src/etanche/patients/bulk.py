"""The bulk path: many already checked patient envelopes, fast (demo data, imports).

Per batch: one `vault.seal_many`, one `vault.blind_indexes` per index, two
inserts (COPY on PostgreSQL, bulk_create on SQLite), one journal
entry (CREATE, {"count": n, "source": ...}), in one transaction. No query per
row. Duplicate detection is skipped: the synthetic generator hands out unique
NIRs, and an import checks its rows before coming here.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql as pgsql

from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.patients import indexing
from etanche.patients.models import Patient, PatientIndex
from etanche.vault import services as vault
from etanche.vault.models import new_record_ids

BATCH = 5000


def _write(model, columns: list[str], rows: list[tuple]) -> None:
    """Insert rows of database-ready values (ints, bytes, aware datetimes).

    PostgreSQL: COPY, psycopg's own API on the cursor Django opened (Django has no
    COPY; its bulk_create spent more time compiling values than the database spent
    storing them), the names composed by psycopg. Elsewhere (small SQLite demos):
    bulk_create."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows])
        return
    names = pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns)
    query = pgsql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        pgsql.Identifier(model._meta.db_table), names)
    with connection.cursor() as cursor, cursor.cursor.copy(query) as copy:
        copy.set_types(_copy_types(model, tuple(columns)))
        for row in rows:
            copy.write_row(row)


@lru_cache(maxsize=32)
def _copy_types(model, columns: tuple[str, ...]) -> list[str]:
    """The PostgreSQL type of each column, as binary COPY needs it declared: the text format
    spelt every token in hex for psycopg to write and the server to decode again (a tenth of
    the server's COPY work, and of the writer's). From the fields' own db_type, its size
    aside ("varchar(16)" is a varchar)."""
    by_column = {field.column: field for field in model._meta.concrete_fields}
    return [by_column[name].db_type(connection).split("(")[0] for name in columns]


PATIENT_COLUMNS = ["id", "lab_id", "sealed", "key_version", "revision", "created_at", "updated_at",
                   *(f"{name}_index" for name in indexing.COLUMNS)]
SIDE_COLUMNS = ["lab_id", "name", "value", "patient_id"]


@dataclass
class Prepared:
    """A batch sealed and keyed, not yet written: what a forked worker hands back (imports).
    Patient rows lack their two timestamps, set when they are written."""

    ids: list[int]
    patients: list[tuple]  # (id, lab_id, sealed, key_version, revision, *index columns)
    sides: list[list[tuple]]  # per patient: its side-index rows (lab_id, name, value, id)
    columns: list[dict]  # per patient: its index columns by name (duplicate lookups)


def prepare(lab_id: int, envelopes: list[dict], ids: list[int] | None = None,
            inputs: list[dict] | None = None) -> Prepared:
    """Seal and key a batch: pure CPU and the vault, no write (safe in a forked worker).
    `inputs`: the envelopes' indexing.column_inputs, when the caller already has them."""
    ids = ids or new_record_ids(len(envelopes))
    # New rows: first seal, not merged (the clear columns the envelope is bound to).
    bound = Patient.binding_of({"revision": 1, "merged_into_id": None})
    tokens = vault.seal_many(lab_id, Patient.record_type(),
                             list(zip(ids, envelopes, strict=True)), bound=bound)
    key_version = vault.token_key_version(tokens[0])
    columns, sides = indexing.compute(lab_id, envelopes, inputs)
    patients = [(pid, lab_id, token, key_version, 1, *(cols[name] for name in indexing.COLUMNS))
                for pid, token, cols in zip(ids, tokens, columns, strict=True)]
    side_rows = [[(lab_id, name, value, pid) for name, value in side]
                 for pid, side in zip(ids, sides, strict=True)]
    return Prepared(ids, patients, side_rows, columns)


def write_prepared(lab, user, patients: list[tuple], sides: list[list[tuple]],
                   source: str) -> None:
    """Insert prepared rows (Prepared.patients and .sides, or a subset of them) and journal
    their creation, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        _write(Patient, PATIENT_COLUMNS, [(*row[:5], now, now, *row[5:]) for row in patients])
        _write(PatientIndex, SIDE_COLUMNS, [row for side in sides for row in side])
        journal(lab=lab, user=user, action=Action.CREATE, object_type="patient",
                detail={"count": len(patients), "source": source})


def _insert(lab, user, envelopes: list[dict], source: str) -> list[int]:
    prepared = prepare(lab.pk, envelopes)
    write_prepared(lab, user, prepared.patients, prepared.sides, source)
    return prepared.ids


insert_batch = _insert  # one batch of checked envelopes -> their new ids (imports)
write_rows = _write  # COPY on PostgreSQL for an import's rows beside its patients (imports)


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
