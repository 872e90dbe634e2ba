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
   and indexing as registration) with one ImportedRecord per row. A run killed
   between batches leaves whole batches only; the next run skips them.

Likely duplicates are never merged: imported flagged for identity review
(ImportedRecord.review, the rule and the other record) or skipped, as the
mapping says. Identity status PROV (FHIR sources: VALI when the source carries
the document check, imports.fhir). The journal gets one entry when writing
starts and one at the end: who, which file (SHA-256), which counts, what result.
"""

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from etanche.imports import fhir
from etanche.imports.files import sha256_of
from etanche.imports.mapping import Mapping, load_toml, propose
from etanche.imports.models import ImportedRecord, Kind
from etanche.imports.report import Report
from etanche.journal.models import Action, Outcome
from etanche.journal.services import record as journal
from etanche.patients import bulk, indexing, intake
from etanche.patients import services as patients
from etanche.patients.models import Patient
from etanche.tabular.readers import open_table, sample
from etanche.vault import services as vault
from etanche.vault.models import new_record_id

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
                yield number, data, source_id, []
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
    key = vault.derive_key(lab.pk, f"import-source:{kind}")
    return lambda text: vault.keyed_digest(key, text.encode("utf-8")).hex()


def identity_text(env: dict) -> str:
    """The traits a source without ids is recognised by on a re-run."""
    firsts = ",".join(indexing.name_search_key(f) for f in env["first_names"] or [])
    return "traits:" + "|".join([indexing.name_search_key(env["birth_name"]), firsts,
                                 env["birth_date"] or "", env["sex"] or "",
                                 env["birthplace_code"] or "", env["ins"] or ""])


def source_text(source_id: str) -> str:
    return "id:" + source_id.strip()


def file_keys(env: dict) -> list[tuple[str, int]]:
    """The registration's three duplicate rules as in-memory keys (hashes of exact values)."""
    keys = []
    if env["ins"]:
        keys.append(("nir", hash(("nir", env["ins"]))))
    name = indexing.name_search_key(env["birth_name"] or "")
    if name and env["birth_date"]:
        keys.append(("birth_name_dob", hash(("n", name, env["birth_date"]))))
    first = (env["first_names"] or [""])[0]
    sound, first_sound = indexing.phonetic_key(env["birth_name"] or ""), \
        indexing.phonetic_key(first)
    if sound and first_sound and env["birth_date"]:
        keys.append(("phonetic_dob", hash(("p", sound, first_sound, env["birth_date"]))))
    return keys


def already_imported(lab, kind: str, digests: list[str]) -> set[str]:
    return set(ImportedRecord.objects.for_lab(lab).filter(kind=kind, digest__in=digests)
               .values_list("digest", flat=True))


def lab_duplicates(lab, envelopes: list[dict]) -> list[list[patients.Candidate]]:
    """For each envelope, the lab's likely duplicates: candidates read by blind index for
    the whole batch, then compared exactly by the registration's own rules."""
    columns, _ = indexing.compute(lab.pk, envelopes)
    match = Q()
    for name in DUPLICATE_RULES:
        values = {c[name] for c in columns if c[name] is not None}
        if values:
            match |= Q(**{f"{name}_index__in": values})
    if not match:
        return [[] for _ in envelopes]
    live = Patient.objects.for_lab(lab).live().filter(match)
    by_value: dict[tuple[str, int], list[int]] = {}
    for pk, *values in live.values_list("pk", *(f"{n}_index" for n in DUPLICATE_RULES)):
        for name, value in zip(DUPLICATE_RULES, values, strict=True):
            by_value.setdefault((name, value), []).append(pk)
    if not by_value:
        return [[] for _ in envelopes]
    rows = {row[0]: row for row in live.values_list(*Patient.opening_columns())}
    out = []
    for env, cols in zip(envelopes, columns, strict=True):
        ids = {pk for name in DUPLICATE_RULES if cols[name] is not None
               for pk in by_value.get((name, cols[name]), ())}
        out.append(patients.candidates_among(env, [rows[pk] for pk in sorted(ids)])
                   if ids else [])
    return out


# -- the import -------------------------------------------------------------------------------

@dataclass
class _Pending:
    number: int
    envelope: dict
    digest: str
    source_id: str


class _Checked:
    """What pass 1 learnt, kept for pass 2 as row numbers only (bounded: ints)."""

    def __init__(self):
        self.refused: set[int] = set()
        self.duplicate_of: dict[int, tuple[str, int | None]] = {}  # row -> (rule, patient)
        self.already: set[int] = set()


def _column_of(mapping: Mapping | None, name: str) -> str | None:
    if mapping is None:
        return None
    if name == "phone" and mapping.column_of("phone") is None:
        return mapping.column_of("phone2")
    return mapping.column_of(name)


def _checker(user) -> str:
    """Who a document check taken in from the source is attributed to."""
    return f"import:user#{user.pk}" if getattr(user, "pk", None) else "import"


def _check_pass(lab, user, path, plan_: Plan, report: Report, progress) -> _Checked:
    checked = _Checked()
    seen: dict[int, int] = {}  # in-file duplicate key -> first row
    digest = digester(lab, Kind.PATIENT)
    digests_seen: dict[str, int] = {}
    batch: list[_Pending] = []

    def flush():
        if not batch:
            return
        done = already_imported(lab, Kind.PATIENT, [p.digest for p in batch])
        fresh = [p for p in batch if p.digest not in done]
        for p in batch:
            if p.digest in done:
                checked.already.add(p.number)
        for p, found in zip(fresh, lab_duplicates(lab, [p.envelope for p in fresh]),
                            strict=True):
            if found and p.number not in checked.duplicate_of:
                first = found[0]
                rule = next(r for r in DUPLICATE_RULES if r in first.reasons)
                checked.duplicate_of[p.number] = (rule, first.id)
                report.duplicate(p.number, rule, existing=first.id)
        batch.clear()
        if progress:
            progress("check", report.rows)

    for number, data, source_id, problems in source_rows(path, plan_):
        report.rows += 1
        envelope, reasons = check_patient(data, problems, _checker(user))
        if envelope is None:
            checked.refused.add(number)
            for name, reason in reasons:
                report.reject(number, name, reason, _column_of(plan_.mapping, name))
            continue
        key = digest(source_text(source_id) if source_id else identity_text(envelope))
        if key in digests_seen:
            rule = "source_id" if source_id else "traits"
            checked.duplicate_of[number] = (rule, None)
            report.duplicate(number, rule, other_row=digests_seen[key])
            continue
        digests_seen[key] = number
        for rule, value in file_keys(envelope):
            if value in seen:
                if number not in checked.duplicate_of:
                    checked.duplicate_of[number] = (rule, None)
                    report.duplicate(number, rule, other_row=seen[value])
            else:
                seen[value] = number
        batch.append(_Pending(number, envelope, key, source_id))
        if len(batch) >= BATCH:
            flush()
    flush()
    report.already = len(checked.already)
    return checked


RECORD_COLUMNS = ["id", "lab_id", "sealed", "key_version", "revision", "kind", "digest",
                  "target_id", "review", "review_rule", "review_of", "file_sha256", "created_at"]


def _write_batch(lab, user, batch: list[_Pending], checked: _Checked, sha: str) -> int:
    with transaction.atomic():
        done = already_imported(lab, Kind.PATIENT, [p.digest for p in batch])
        batch = [p for p in batch if p.digest not in done]  # a concurrent or earlier run
        if not batch:
            return 0
        ids = bulk.insert_batch(lab, user, [p.envelope for p in batch], "import")
        now = timezone.now()
        records = []
        items = []
        for p, pid in zip(batch, ids, strict=True):
            rule, other = checked.duplicate_of.get(p.number, ("", None))
            rid = new_record_id()
            bound = ImportedRecord.binding_of({"revision": 1, "kind": Kind.PATIENT,
                                               "target_id": pid})
            items.append((rid, {"source_id": p.source_id, "row": p.number}, bound))
            records.append(ImportedRecord(
                id=rid, lab_id=lab.pk, kind=Kind.PATIENT, digest=p.digest, target_id=pid,
                review=bool(rule), review_rule=rule, review_of=other, file_sha256=sha,
                created_at=now, revision=1))
        tokens = vault.seal_many(lab.pk, ImportedRecord.record_type(), items)
        version = vault.token_key_version(tokens[0])
        # COPY on PostgreSQL, as the patients beside them (bulk_create was a fifth of the time).
        bulk.write_rows(ImportedRecord, RECORD_COLUMNS, [
            (r.id, r.lab_id, token, version, 1, r.kind, r.digest, r.target_id, r.review,
             r.review_rule, r.review_of, r.file_sha256, r.created_at)
            for r, token in zip(records, tokens, strict=True)])
    return len(batch)


def _write_pass(lab, user, path, plan_: Plan, checked: _Checked, report: Report, sha: str,
                progress) -> None:
    digest = digester(lab, Kind.PATIENT)
    skip = plan_.mapping.duplicates == "skip" if plan_.mapping else False
    batch: list[_Pending] = []
    for number, data, source_id, problems in source_rows(path, plan_):
        if number in checked.refused or number in checked.already:
            continue
        if number in checked.duplicate_of and (
                skip or checked.duplicate_of[number][0] in ("source_id", "traits")):
            report.skipped += 1
            continue
        envelope, reasons = check_patient(data, problems, _checker(user))
        if envelope is None:  # the file changed between the passes
            raise ImportRefused("Le fichier a changé pendant l'import : relancez-le.")
        key = digest(source_text(source_id) if source_id else identity_text(envelope))
        batch.append(_Pending(number, envelope, key, source_id))
        if len(batch) >= BATCH:
            report.imported += _write_batch(lab, user, batch, checked, sha)
            batch = []
            if progress:
                progress("write", report.imported)
    if batch:
        report.imported += _write_batch(lab, user, batch, checked, sha)
    bulk.refresh_statistics()


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
    """Check every row, then (unless dry run, or refused rows without accept_valid) write."""
    if plan_.kind != "patients":
        raise ImportRefused("Ce plan n'est pas celui d'un import de patients.")
    sha = sha or sha256_of(path)
    report = Report("patients")
    checked = _check_pass(lab, user, path, plan_, report, progress)
    refused = bool(checked.refused) and not accept_valid
    if dry_run or refused:
        outcome = Outcome.FAILED if refused else Outcome.OK
        _journal(lab, user, report.finish(), sha, plan_, "dry-run" if dry_run else "refused",
                 dry_run=dry_run, accept_valid=accept_valid, outcome=outcome, via=via)
        return report
    _journal(lab, user, report, sha, plan_, "start", dry_run=False, accept_valid=accept_valid,
             via=via)
    report.written = True
    try:
        _write_pass(lab, user, path, plan_, checked, report, sha, progress)
    except BaseException:
        _journal(lab, user, report.finish(), sha, plan_, "end", dry_run=False,
                 accept_valid=accept_valid, outcome=Outcome.FAILED, via=via)
        raise
    _journal(lab, user, report.finish(), sha, plan_, "end", dry_run=False,
             accept_valid=accept_valid, via=via)
    return report
