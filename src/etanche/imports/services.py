"""Import a previous software's patients: checked row by row, all or nothing, each row once.

    from etanche.imports import services as imports
    plan = imports.plan(path, "patients", mapping="auto")        # format, mapping, sample
    report = imports.import_patients(lab, user, path, plan.mapping,
                                     dry_run=False, accept_valid=False)

Two passes over the file, read in place (the source is never copied):

1. Check. Every row goes through `patients.intake.clean`, the registration
   form's own checks; every refusal is reported {row, field, reason}. Likely
   duplicates are looked for inside the file (same NIR, same birth name and
   date, same phonetic names and date: the registration's rules) and among
   the lab's patients (the registration's duplicate detection, by batch).
   Rows an earlier run already took in (keyed digest of the previous
   software's id, or of the identity traits without one) are skipped.
2. Write, unless `dry_run`, or rows were refused and not `accept_valid`: in
   batches, each in one transaction, through `patients.bulk` (the same sealing
   and indexing as registration) with one ImportedRecord per row; on PostgreSQL
   two batches at a time, on two connections (imports.threads). A run killed
   between batches leaves whole batches only; the next run skips them.

Likely duplicates are never merged: imported flagged for identity review
(ImportedRecord.review, the rule and the other record) or skipped, as the
mapping says. Identity status PROV (FHIR sources: VALI when the source carries
the document check, imports.fhir). The journal gets one entry when writing
starts and one at the end: who, which file (SHA-256), which counts, what result.
"""

import pickle
import tempfile
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import NamedTuple

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from etanche.imports import fhir
from etanche.imports.files import sha256_of
from etanche.imports.mapping import DERIVABLE, Mapping, derive_from_nir, load_toml, propose
from etanche.imports.models import ImportedRecord, Kind
from etanche.imports.report import Report
from etanche.imports.threads import ordered_in_threads
from etanche.journal.models import Action, Outcome
from etanche.journal.services import record as journal
from etanche.lib.forked import fork_workers, frozen_heap, ordered_map
from etanche.lib.lookups import AnyOf
from etanche.patients import bulk, indexing, intake
from etanche.patients import services as patients
from etanche.patients.models import Patient
from etanche.tabular.readers import open_table, sample
from etanche.vault import services as vault
from etanche.vault.models import new_record_ids

BATCH = settings.ETANCHE_IMPORT_BATCH
SAMPLE_ROWS = 200  # read for the mapping proposal
OBJECT_TYPE = "import"
FHIR_FORMATS = ("fhir-ndjson", "fhir-bundle")
DUPLICATE_RULES = patients.LOCKED_INDEXES  # nir, birth_name_dob, phonetic_dob


class ImportRefused(Exception):
    """A file or a mapping that cannot be imported; French, one line, no identity."""


@dataclass
class Plan:
    kind: str  # "patients" | "requests"
    format: str
    compression: str | None
    encoding: str | None
    delimiter: str | None
    header: list[str]
    mapping: Mapping | None  # None: FHIR, read by imports.fhir
    sample: list[dict]  # the first rows' values (shown masked by the surfaces)

    def facts(self) -> dict:
        return {"format": self.format, "compression": self.compression,
                "encoding": self.encoding, "delimiter": self.delimiter}


def opened(source):
    """`source` is a path (the CLI reads the file in place) or a callable giving a context
    manager of a binary stream (the web's upload, decrypted on the fly): each pass opens it."""
    return source() if callable(source) else nullcontext(source)


def plan(path, kind: str, mapping: str = "auto") -> Plan:
    """Read the file's first rows and propose (or load) the mapping."""
    with opened(path) as source:
        table, rows = sample(source, SAMPLE_ROWS)
    values = [r.values for r in rows]
    chosen = None
    if table.format not in FHIR_FORMATS:
        chosen = propose(kind, table.header, values)
        if mapping and mapping != "auto":
            chosen = load_toml(mapping, kind, chosen)
        if not chosen.columns:
            raise ImportRefused("Aucune colonne reconnue : écrivez un fichier de correspondance "
                                "(--mapping FICHIER.toml).")
    return Plan(kind, table.format, table.compression, table.encoding, table.delimiter,
                table.header, chosen, values)


# -- reading rows -----------------------------------------------------------------------------

def source_rows(path, plan_: Plan) -> Iterator[tuple[int, dict, str, list[tuple[str, str]]]]:
    """(row number, input, source id, conversion problems) of each row, streamed."""
    with opened(path) as source, open_table(source) as table:
        if plan_.mapping is None:
            grouped = fhir.patient_rows if plan_.kind == "patients" else fhir.request_rows
            for number, data, source_id in grouped(table.rows()):
                # A Patient from another system seldom carries the birthplace extension;
                # its NIR encodes the birthplace, as for a file without that column.
                derived = plan_.kind == "patients" and data.get("nir") and \
                    derive_from_nir(data, DERIVABLE)
                yield number, data, source_id, derived or []
            return
        for row in table.rows():
            data, source_id, problems = plan_.mapping.apply(row.values)
            yield row.number, data, source_id, problems


def check_patient(data: dict, problems: list[tuple[str, str]], user_ref: str = ""):
    """(envelope, []) or (None, [(field, reason)]): the registration form's checks.
    `user_ref` signs an identity document check the source carries (FHIR VALI)."""
    failed = {name for name, _ in problems}
    try:
        envelope = intake.clean(data, user_ref=user_ref).envelope
    except ValidationError as exc:
        reasons = list(problems)
        for name, messages in exc.message_dict.items():
            if name not in failed and not (name in ("phone", "phones") and "phone2" in failed):
                reasons += [(name, m) for m in messages]
        return None, reasons
    return (None, problems) if problems else (envelope, [])


# -- keys: idempotency and duplicates ----------------------------------------------------------

def digester(lab, kind: str) -> Callable[[str], str]:
    key = vault.derive_key(getattr(lab, "pk", lab), f"import-source:{kind}")
    return lambda text: vault.keyed_digest(key, text.encode("utf-8")).hex()


def identity_text(env: dict) -> str:
    """The traits a source without ids is recognised by on a re-run."""
    firsts = ",".join(indexing.name_search_key(f) for f in env["first_names"] or [])
    return "traits:" + "|".join([indexing.name_search_key(env["birth_name"]), firsts,
                                 env["birth_date"] or "", env["sex"] or "",
                                 env["birthplace_code"] or "", env["ins"] or ""])


def source_text(source_id: str) -> str:
    return "id:" + source_id.strip()


def file_keys(inputs: dict) -> list[tuple[str, int]]:
    """The registration's three duplicate rules as in-memory keys: hashes of the exact
    normalised values their blind indexes are keyed from (indexing.column_inputs)."""
    return [(rule, hash((rule, inputs[rule]))) for rule in DUPLICATE_RULES if inputs[rule]]


def already_imported(lab, kind: str, digests: list[str]) -> set[str]:
    # AnyOf: a batch's 2,000 digests as one array parameter, not 2,000 placeholders.
    return set(ImportedRecord.objects.for_lab(lab).filter(AnyOf(F("digest"), digests), kind=kind)
               .values_list("digest", flat=True))


def lab_duplicates(lab, envelopes: list[dict],
                   columns: list[dict] | None = None) -> list[list[patients.Candidate]]:
    """For each envelope, the lab's likely duplicates: candidates read by blind index for
    the whole batch, then compared exactly by the registration's own rules. `lab` is a Lab
    or its id; `columns`, the envelopes' index columns when already keyed."""
    lab_id = getattr(lab, "pk", lab)
    if columns is None:
        columns, _ = indexing.compute(lab_id, envelopes)
    match = Q()
    for name in DUPLICATE_RULES:
        values = {c[name] for c in columns if c[name] is not None}
        if values:
            match |= Q(AnyOf(F(f"{name}_index"), list(values)))
    if not match:
        return [[] for _ in envelopes]
    live = Patient.objects.for_lab(lab_id).live().filter(match)
    # One query for the matching rows' keys and what opening them needs (the three arrays
    # of 2,000 keys were sent, and prepared value by value, twice).
    opening = Patient.opening_columns()
    by_value: dict[tuple[str, int], list[int]] = {}
    rows = {}
    for row in live.values_list(*opening, *(f"{n}_index" for n in DUPLICATE_RULES)):
        rows[row[0]] = row[:len(opening)]
        for name, value in zip(DUPLICATE_RULES, row[len(opening):], strict=True):
            by_value.setdefault((name, value), []).append(row[0])
    if not by_value:
        return [[] for _ in envelopes]
    out = []
    for env, cols in zip(envelopes, columns, strict=True):
        ids = {pk for name in DUPLICATE_RULES if cols[name] is not None
               for pk in by_value.get((name, cols[name]), ())}
        out.append(patients.candidates_among(env, [rows[pk] for pk in sorted(ids)])
                   if ids else [])
    return out


# -- preparing a batch (a forked worker's task) -----------------------------------------------

class Checked(NamedTuple):
    """One valid row as the check found it: nothing of it is in clear."""

    number: int
    digest: str  # the keyed digest of the source id or of the traits
    by_id: bool  # the digest is the source id's
    keys: list[tuple[str, int]]  # file_keys: the in-file duplicate rules
    lab_duplicate: tuple[str, int] | None  # (rule, existing patient) against the lab


def prepare_batch(task) -> tuple[list[tuple[int, list]], list[Checked], int, bytes | None]:
    """Check, seal and key one batch of rows: pure CPU and the vault, plus two reads (rows an
    earlier run took in, the lab's duplicates), so it may run in a forked worker (lib.forked).
    Returns (refused: [(row, [(field, reason)])], valid: [Checked], how many rows an earlier
    run already took in, what to write), in the rows' order. What to write is, for each
    valid row, its bulk.Prepared patient row, side rows and (ImportedRecord id, sealed
    token, key version), pickled here (None: a dry run): the parent only picks rows out of
    it, and unpickling the many small values there and pickling them again into its spool
    took a third of its CPU."""
    lab_id, checker, seal, rows = task
    digest = digester(lab_id, Kind.PATIENT)
    refused, valid, envelopes, sources = [], [], [], []
    for number, data, source_id, problems in rows:
        envelope, reasons = check_patient(data, problems, checker)
        if envelope is None:
            refused.append((number, reasons))
            continue
        key = digest(source_text(source_id) if source_id else identity_text(envelope))
        valid.append((number, key, bool(source_id)))
        envelopes.append(envelope)
        sources.append(source_id)
    if not valid:
        return refused, [], 0, None
    done = already_imported(lab_id, Kind.PATIENT, [p[1] for p in valid])
    fresh = [i for i, p in enumerate(valid) if p[1] not in done]
    envelopes = [envelopes[i] for i in fresh]
    sources = [sources[i] for i in fresh]
    already = len(valid) - len(fresh)
    valid = [valid[i] for i in fresh]
    if not envelopes:
        return refused, [], already, None
    inputs = [indexing.column_inputs(env) for env in envelopes]
    payload = None
    if seal:
        sealed = bulk.prepare(lab_id, envelopes, inputs=inputs)
        columns = sealed.columns
        items = [(rid, {"source_id": source_id, "row": p[0]},
                  ImportedRecord.binding_of({"revision": 1, "kind": Kind.PATIENT,
                                             "target_id": pid}))
                 for p, pid, source_id, rid in zip(valid, sealed.ids, sources,
                                                   new_record_ids(len(sources)), strict=True)]
        tokens = vault.seal_many(lab_id, ImportedRecord.record_type(), items)
        version = vault.token_key_version(tokens[0])
        payload = pickle.dumps([(row, side, (item[0], token, version)) for row, side, item, token
                                in zip(sealed.patients, sealed.sides, items, tokens, strict=True)],
                               protocol=pickle.HIGHEST_PROTOCOL)
    else:
        columns, _ = indexing.compute(lab_id, envelopes, inputs)
    checked = []
    for p, row_inputs, found in zip(valid, inputs, lab_duplicates(lab_id, envelopes, columns),
                                    strict=True):
        duplicate = (next(r for r in DUPLICATE_RULES if r in found[0].reasons), found[0].id) \
            if found else None
        checked.append(Checked(*p, file_keys(row_inputs), duplicate))
    return refused, checked, already, payload


# -- the import -------------------------------------------------------------------------------

PARALLEL_MIN = SAMPLE_ROWS  # a file shorter than its sample is not worth a fork


def _column_of(mapping: Mapping | None, name: str) -> str | None:
    if mapping is None:
        return None
    if name == "phone" and mapping.column_of("phone") is None:
        return mapping.column_of("phone2")
    return mapping.column_of(name)


def _checker(user) -> str:
    """Who a document check taken in from the source is attributed to."""
    return f"import:user#{user.pk}" if getattr(user, "pk", None) else "import"


def _tasks(lab, user, path, plan_: Plan, seal: bool):
    batch = []
    for row in source_rows(path, plan_):
        batch.append(row)
        if len(batch) >= BATCH:
            yield lab.pk, _checker(user), seal, batch
            batch = []
    if batch:
        yield lab.pk, _checker(user), seal, batch


class _Spool:
    """The rows to write, as the check found them: sealed tokens, blind indexes, keyed
    digests and ids (what the database will hold, nothing in clear), batch by batch in an
    anonymous temporary file (unlinked at once: a killed run leaves nothing). A batch is
    stored as its workers pickled it (prepare_batch), with the rows to take out of it."""

    def __init__(self):
        self.file = tempfile.TemporaryFile(dir=settings.DATA_DIR, prefix="import-")
        self.batches = 0

    def add(self, payload: bytes, kept: list[tuple[int, str, tuple | None]]) -> None:
        """`kept`: (index in the payload, digest, duplicate (rule, other) or None)."""
        pickle.dump((payload, kept), self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.batches += 1

    def __iter__(self) -> Iterator[list[tuple]]:
        """Each batch as (digest, patient row, side rows, record, duplicate) tuples."""
        self.file.seek(0)
        for _ in range(self.batches):
            payload, kept = pickle.load(self.file)  # noqa: S301  our own file, written above
            rows = pickle.loads(payload)  # noqa: S301  our own workers' (prepare_batch)
            yield [(digest, *rows[i], duplicate) for i, digest, duplicate in kept]

    def close(self) -> None:
        self.file.close()


def _check_pass(lab, user, path, plan_: Plan, report: Report, progress, *,
                spool: _Spool | None, accept_valid: bool) -> bool:
    """Every row checked once (in forked workers when the caller allows it); the rows to write
    go to `spool`. Returns whether some row was refused."""
    skip = plan_.mapping.duplicates == "skip" if plan_.mapping else False
    seen: dict[int, int] = {}  # in-file duplicate key -> first row
    digests_seen: dict[str, int] = {}
    any_refused = False
    workers = fork_workers(None, len(plan_.sample), PARALLEL_MIN)
    tasks = _tasks(lab, user, path, plan_, seal=spool is not None)
    for refused, valid, already, payload in ordered_map(prepare_batch, tasks, workers):
        report.already += already
        for number, reasons in refused:
            any_refused = True
            for name, reason in reasons:
                report.reject(number, name, reason, _column_of(plan_.mapping, name))
        kept = []
        for index, p in enumerate(valid):
            if p.digest in digests_seen:
                report.duplicate(p.number, "source_id" if p.by_id else "traits",
                                 other_row=digests_seen[p.digest])
                report.skipped += 1
                continue
            digests_seen[p.digest] = p.number
            duplicate = None
            for rule, value in p.keys:
                if value not in seen:
                    seen[value] = p.number
                elif duplicate is None:
                    duplicate = (rule, None)
                    report.duplicate(p.number, rule, other_row=seen[value])
            if duplicate is None and p.lab_duplicate:
                duplicate = p.lab_duplicate
                report.duplicate(p.number, duplicate[0], existing=duplicate[1])
            if duplicate and skip:
                report.skipped += 1
                continue
            kept.append((index, p.digest, duplicate))
        if spool is not None and kept and (accept_valid or not any_refused):
            spool.add(payload, kept)
        report.rows += len(refused) + len(valid) + already
        if progress:
            progress("check", report.rows)
    return any_refused


RECORD_COLUMNS = ["id", "lab_id", "sealed", "key_version", "revision", "kind", "digest",
                  "target_id", "review", "review_rule", "review_of", "file_sha256", "created_at"]


def _write_batch(lab, user, batch: list[tuple], sha: str) -> int:
    """One batch in one transaction. A concurrent or earlier run that took in some of its rows
    since the check makes the COPY break the imports_once constraint: then, and only then,
    the batch is written again without them (checking every batch first cost a query that,
    on a table the planner has no statistics of yet, read the lab's whole import each time)."""
    try:
        return _write_rows(lab, user, batch, sha)
    except (IntegrityError, psycopg.IntegrityError):  # psycopg's own from a COPY
        done = already_imported(lab, Kind.PATIENT, [digest for digest, *_ in batch])
        if not done:
            raise
        return _write_rows(lab, user, [item for item in batch if item[0] not in done], sha)


def _write_rows(lab, user, batch: list[tuple], sha: str) -> int:
    if not batch:
        return 0
    own = not connection.in_atomic_block  # this batch is a transaction of its own
    with transaction.atomic():
        if own and connection.vendor == "postgresql":
            # Foreign keys checked as each COPY ends rather than all at the commit, which
            # comes after the journal's chain lock: two writers check theirs side by side.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        now = timezone.now()
        # COPY on PostgreSQL, as the patients beside them (bulk_create was a fifth of the time).
        # Before the patients: their journal entry (write_prepared) is the transaction's last
        # write, as journal.record asks, and target_id is no foreign key.
        bulk.write_rows(ImportedRecord, RECORD_COLUMNS, [
            (rid, lab.pk, token, version, 1, Kind.PATIENT, digest, patient[0], bool(duplicate),
             duplicate[0] if duplicate else "", duplicate[1] if duplicate else None, sha, now)
            for digest, patient, _, (rid, token, version), duplicate in batch])
        bulk.write_prepared(lab, user, [item[1] for item in batch], [item[2] for item in batch],
                            "import")
    return len(batch)


WRITERS = 2  # batches written at once: the database's COPY work on two cores


def _writers() -> int:
    """Threads for the write pass: PostgreSQL only (SQLite has one writer), and never inside
    a caller's transaction (the threads' connections could not see its rows)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return WRITERS


def _write_pass(lab, user, spool: _Spool, report: Report, sha: str, progress) -> None:
    written: list[int] = []  # by the writers, whatever order they end in (a failure's count)

    def write(batch: list[tuple]) -> int:
        count = _write_batch(lab, user, batch, sha)
        written.append(count)
        return count

    try:
        done = 0
        for count in ordered_in_threads(write, spool, _writers()):
            done += count
            if progress:
                progress("write", done)
    finally:
        report.imported += sum(written)
    bulk.refresh_statistics()
    if connection.vendor == "postgresql":
        # A re-run's first query reads these rows by digest: with no statistics the planner
        # filters the lab's whole import against each batch's 2,000 digests.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {ImportedRecord._meta.db_table}")


def _journal(lab, user, report: Report, sha: str, plan_: Plan, stage: str, *, dry_run: bool,
             accept_valid: bool, outcome: str = Outcome.OK, via: str = "cli") -> None:
    with transaction.atomic():
        journal(lab=lab, user=user, action=Action.IMPORT, object_type=OBJECT_TYPE,
                outcome=outcome, detail={
                    "kind": plan_.kind, "stage": stage, "file_sha256": sha, "via": via,
                    "format": plan_.format, "dry_run": dry_run, "accept_valid": accept_valid,
                    **({} if stage == "start" else report.counts())})


def import_patients(lab, user, path, plan_: Plan, *, dry_run: bool = False,
                    accept_valid: bool = False, progress=None, via: str = "cli",
                    sha: str | None = None) -> Report:
    """Check every row once (sealing what is to be written), then, unless dry run or refused
    rows without accept_valid, write the checked rows batch by batch."""
    if plan_.kind != "patients":
        raise ImportRefused("Ce plan n'est pas celui d'un import de patients.")
    sha = sha or sha256_of(path)
    report = Report("patients")
    spool = None if dry_run else _Spool()
    # The parent holds the checked batches as many small containers: see frozen_heap.
    with frozen_heap():
        try:
            any_refused = _check_pass(lab, user, path, plan_, report, progress, spool=spool,
                                      accept_valid=accept_valid)
            refused = any_refused and not accept_valid
            if dry_run or refused:
                outcome = Outcome.FAILED if refused else Outcome.OK
                _journal(lab, user, report.finish(), sha, plan_,
                         "dry-run" if dry_run else "refused", dry_run=dry_run,
                         accept_valid=accept_valid, outcome=outcome, via=via)
                return report
            _journal(lab, user, report, sha, plan_, "start", dry_run=False,
                     accept_valid=accept_valid, via=via)
            report.written = True
            try:
                _write_pass(lab, user, spool, report, sha, progress)
            except BaseException:
                _journal(lab, user, report.finish(), sha, plan_, "end", dry_run=False,
                         accept_valid=accept_valid, outcome=Outcome.FAILED, via=via)
                raise
            _journal(lab, user, report.finish(), sha, plan_, "end", dry_run=False,
                     accept_valid=accept_valid, via=via)
            return report
        finally:
            if spool is not None:
                spool.close()
