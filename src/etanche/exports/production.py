"""Producing an approved export's file: batches of ids, records, age, progress on the row.

`produce_export` runs in the worker (exports/tasks.py, `etanche worker`) or in
`etanche export produce`. It can be stopped anywhere, kill -9 included, and run
again: each run starts from scratch (a new `.part`, progress back to 0) and only
the last step, in one transaction, makes the export available.
"""

import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from etanche.exports import crypto, parallel, profiles
from etanche.exports.errors import ExportGone, ExportRefused
from etanche.exports.models import OBJECT_TYPE, Export, Selection, Status
from etanche.exports.records import patient_record, pseudonym, request_record
from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.patients.models import Patient
from etanche.vault import services as vault
from etanche.watch.services import canary_record, issue_canary_for_export

BATCH = 2000


def _selection_query(export: Export):
    rows = Patient.objects.for_lab(export.lab_id).live()
    if export.selection == Selection.PERIOD:
        since = export.since_datetime
        rows = rows.filter(Q(created_at__gte=since) | Q(orders__created_at__gte=since))
    return rows


def _id_batches(export: Export, sealed: dict):
    if export.selection == Selection.LIST:
        ids = sealed["patient_ids"]
        for start in range(0, len(ids), BATCH):
            yield ids[start:start + BATCH]
        return
    query, last = _selection_query(export), 0
    while True:
        ids = list(query.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)
                   .distinct()[:BATCH])
        if not ids:
            return
        yield ids
        last = ids[-1]


def _count(export: Export, sealed: dict) -> int:
    if export.selection == Selection.LIST:
        return len(sealed["patient_ids"])
    return _selection_query(export).values("pk").distinct().count()


def selected_count(export: Export) -> int:
    """How many patients the export's selection holds now (the canary not counted)."""
    return _count(export, export.get_sealed())


def _pseudonym_key(export: Export, salt_hex: str | None) -> bytes | None:
    if not salt_hex:
        return None
    purpose = f"export-pseudonym:{export.pk}"
    return vault.derive_salted_key(export.lab_id, purpose, bytes.fromhex(salt_hex))


def canary_donors(export: Export, sealed: dict):
    """The rows a canary is shaped after: a list export's own patients, else the lab's."""
    return sealed["patient_ids"] if export.selection == Selection.LIST else None


def _canary_record(export, profile, canary, key) -> dict:
    stored = canary_record(canary)
    requests = stored["requests"] if profile.reads_requests else []
    return {"patient": patient_record(profile, canary.pk, stored["identity"], key),
            "requests": [request_record(profile, r) for r in requests]}


def _tasks(export, profile, sealed, key, canary_row, position):
    """One task per batch of ids; the canary goes into the batch where `position` falls."""
    seen = 0
    since = export.since_datetime
    for ids in _id_batches(export, sealed):
        row, at = None, 0
        if canary_row is not None and seen <= position <= seen + len(ids):
            row, at, canary_row = canary_row, position - seen, None
        yield (export.lab_id, profile.name, export.format, ids, since, key, row, at)
        seen += len(ids)
    if canary_row is not None:
        yield (export.lab_id, profile.name, export.format, [], since, key, canary_row, 0)


def _chunks(export, writer, tasks, workers, counter):
    yield writer.header()
    for data, rows in parallel.formatted(tasks, workers):
        counter["rows"] += rows
        # Outside any transaction: each update commits alone, so the page sees it.
        Export.objects.filter(pk=export.pk).update(progress_done=counter["rows"])
        yield data
    yield writer.footer()


def _start(export: Export) -> tuple[Export, dict]:
    """Check the export may be produced, give it its salt, reset its progress; locked."""
    with transaction.atomic():
        export = Export.objects.locked(export)
        if export.status != Status.APPROVED:
            raise ExportRefused({"__all__": [f"Seul un export approuvé peut être produit (état : "
                                             f"{export.get_status_display()})."]})
        if export.expires_at <= timezone.now():
            raise ExportRefused({"__all__": ["Cet export a expiré."]})
        sealed = export.get_sealed()
        profile = profiles.get(export.profile)
        if profile.pseudonymised and not sealed.get("pseudonym_salt"):
            sealed["pseudonym_salt"] = secrets.token_hex(32)
            export.set_sealed(sealed)
        # The canary is one more row of the file: the total counts it, as `rows` will.
        export.progress_total = _count(export, sealed) + (1 if profile.canary else 0)
        export.progress_done, export.production_error = 0, ""
        export.save(update_fields=["sealed", "key_version", "progress_total", "progress_done",
                                   "production_error"])
    return export, sealed


def produce_export(export: Export) -> Export:
    """Write the encrypted file of an approved export (again, if a run was interrupted)."""
    export, sealed = _start(export)
    profile = profiles.get(export.profile)
    key = _pseudonym_key(export, sealed.get("pseudonym_salt"))
    canary_row = None
    if profile.canary:  # none in a person's own data (subject access)
        canary = issue_canary_for_export(
            export, marker_for=(lambda cid: pseudonym(key, cid)) if key else None,
            among=canary_donors(export, sealed))
        canary_row = _canary_record(export, profile, canary, key)
    total = export.progress_total - (1 if canary_row is not None else 0)
    position = secrets.randbelow(total + 1)  # anywhere, first and last places included
    writer = parallel.writer_for(export.format, profile)
    counter = {"rows": 0}
    tasks = _tasks(export, profile, sealed, key, canary_row, position)
    chunks = _chunks(export, writer, tasks, parallel.workers_for(total), counter)
    path = crypto.exports_dir() / export.file_name
    digest, size = crypto.encrypt_to_file(chunks, export.recipient, path)
    with transaction.atomic():
        locked = Export.objects.locked(export)
        if locked.status != Status.APPROVED:  # purged or expired meanwhile: do not resurrect
            crypto.destroy(path)
            raise ExportGone(locked)
        locked.status, locked.produced_at = Status.PRODUCED, timezone.now()
        locked.rows, locked.size, locked.sha256 = counter["rows"], size, digest
        locked.progress_done = counter["rows"]
        locked.save(update_fields=["status", "produced_at", "rows", "size", "sha256",
                                   "progress_done"])
        journal(lab=locked.lab, user=None, actor="export", action=Action.CREATE,
                object_type=OBJECT_TYPE, object_id=locked.pk,
                purpose=profile.label, detail={"patients": counter["rows"], "bytes": size,
                                               "sha256": digest})
    return locked


def record_failure(export_id: int, exc: BaseException) -> None:
    """Name the failure on the row (its class only: a message could quote data)."""
    Export.objects.filter(pk=export_id, status=Status.APPROVED).update(
        production_error=type(exc).__name__[:100])
