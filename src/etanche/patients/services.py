"""Patients: the only code that reads or writes patient identity, through the vault.

    from etanche.patients import services as patients
    result = patients.register_patient(lab, user, data)        # -> Registered(id, warnings)
    record = patients.get_patient(lab, user, result.id, "accueil")  # -> PatientRecord
    page = patients.search(lab, user, name="Kèrgoat", birth_date="1984-03-02")
    patients.update_patient(lab, user, record.id, {"phone": "0639980001"})
    patients.merge_patients(lab, user, survivor_id, merged_id)

Every write runs in one transaction with its journal entry; every read and
search is journaled (object type "patient"), searches with the kinds of
criteria only. Bad input raises a Django ValidationError whose message_dict
maps fields to French messages. Authorisation is the caller's (web views:
`require_permission` and etanche.web.access); a missing id raises PatientNotFound.
"""

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from etanche.journal.actor import describe
from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.labs.models import Lab
from etanche.patients import events, indexing, intake, listing
from etanche.patients.models import Patient, PatientIndex, PatientVersion
from etanche.patients.names import name_search_key
from etanche.patients.phonetic import phonetic_key
from etanche.patients.search import (  # noqa: F401  (search, PatientSummary: API)
    PatientSummary,
    open_values,
    search,
    summary_of,
)
from etanche.patients.status import IdentityStatus

OBJECT_TYPE = "patient"
MAX_REDIRECTS = 20  # merge chains are short; a longer one means a loop written by hand


class PatientError(Exception):
    """A refused operation; the message holds ids at most, never identity."""


class PatientNotFound(PatientError):
    pass


@dataclass(frozen=True)
class Candidate:
    id: int
    reasons: tuple[str, ...]  # "nir", "birth_name_dob", "phonetic_dob"
    summary: PatientSummary


class DuplicatePatient(PatientError):
    def __init__(self, candidates: list[Candidate]):
        self.candidates = candidates
        ids = ", ".join(f"{c.id} ({'+'.join(c.reasons)})" for c in candidates)
        super().__init__(f"likely duplicate of patient(s) {ids}")

    @property
    def exact_nir(self) -> bool:
        return any("nir" in c.reasons for c in self.candidates)


class SameNir(DuplicatePatient):
    """The INS/NIR is already another record's. Not an override: one number is one
    person, so two records holding it are an identity-vigilance incident, to be merged."""

    MESSAGE = ("Ce NIR est déjà celui d'un autre dossier du laboratoire. Un NIR n'appartient "
               "qu'à une seule personne : rien n'a été enregistré. S'il s'agit de la même "
               "personne, ouvrez son dossier (et fusionnez les dossiers en double) ; si le NIR "
               "est celui de l'assuré qui couvre le patient (carte d'un parent), saisissez-le "
               "dans « NIR de l'assuré », pas comme NIR du patient.")


@dataclass
class Registered:
    id: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class PatientRecord:
    id: int
    fields: dict  # the envelope: intake.ENVELOPE_FIELDS
    redirected_from: int | None = None
    merged_records: list[int] = field(default_factory=list)

    @property
    def summary(self) -> PatientSummary:
        return summary_of(self.id, self.fields)


def _user_ref(user) -> str:

    return f"user#{user.pk}" if getattr(user, "pk", None) else describe(user)


Keyed = tuple[dict[str, int | None], list[tuple[str, int]]]


def _keyed(lab, env: dict) -> Keyed:
    """The envelope's blind-index values: {column: value}, [(side index, value)]."""
    columns, sides = indexing.compute(getattr(lab, "pk", lab), [env])
    return columns[0], sides[0]


def _apply_indexes(patient: Patient, keyed: Keyed) -> list[tuple]:
    """Set the index columns; return the side-table rows to insert once the row exists."""
    columns, sides = keyed
    for name, value in columns.items():
        setattr(patient, f"{name}_index", value)
    return [(patient.lab_id, name, value, patient.pk) for name, value in sides]


_SIDE_INSERT = (f"INSERT INTO {PatientIndex._meta.db_table} "  # noqa: S608  (constants)
                "(lab_id, name, value, patient_id) VALUES ")


def _insert_side_rows(rows: list[tuple]) -> None:
    """INSERT the (lab, index name, value, patient) rows of `_apply_indexes`. Fixed SQL, one
    row template per row: bulk_create's query building cost a registration 0.6 ms of CPU
    for two or three rows of four integers (issue 25)."""
    if rows:
        with connection.cursor() as cursor:
            cursor.execute(_SIDE_INSERT + ", ".join(["(%s, %s, %s, %s)"] * len(rows)),
                           [value for row in rows for value in row])


def _ids(*values) -> list[int]:
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError):
        raise PatientNotFound("patient ids are integers") from None


# --- duplicates ---------------------------------------------------------------------------


# The indexes the duplicate check queries (and registration locks on, _lock_identity).
LOCKED_INDEXES = ("nir", "birth_name_dob", "phonetic_dob")
LOCK_RANK_SHIFT = 27  # above any index value (vault.indexes.MAX_BITS = 26)


def _candidate_rows(lab, columns: dict, *, exclude: int | None = None,
                   same_ins: list[int] | None = None):
    """(id, lab, token) of the lab's live records sharing one of the checked index values
    (`columns`, from _keyed); None when the envelope has none of those values.

    `same_ins` (indexing.ins_under_any_oid): a record can share the NIR only if its `ins`
    index is one of those values too, so a record that only falls in the NIR's truncated
    bucket (about R / 2^B of them, vault/indexes.py) is not fetched and unsealed for a
    comparison it cannot pass (issue 25). The check keeps every record it would find.
    """
    match = Q()
    for name in LOCKED_INDEXES:
        if columns[name] is not None:
            clause = Q(**{f"{name}_index": columns[name]})
            if name == "nir" and same_ins:
                clause &= Q(ins_index__in=same_ins)
            match |= clause
    if not match:
        return None
    rows = Patient.objects.for_lab(lab).live().filter(match)
    if exclude:
        rows = rows.exclude(pk=exclude)
    return rows.values_list(*Patient.opening_columns())


def _candidates_among(env: dict, rows) -> list[Candidate]:
    found = []
    for pk, other in sorted(open_values(rows)):
        reasons = tuple(r for r, same in _same(env, other) if same)
        if reasons:
            found.append(Candidate(pk, reasons, summary_of(pk, other)))
    return found


candidates_among = _candidates_among  # imports: a batch's candidate rows, compared exactly


def _duplicate_candidates(lab, env: dict, *, exclude: int | None = None,
                          columns: dict | None = None) -> list[Candidate]:
    if columns is None:
        columns = _keyed(lab, env)[0]
    same_ins = indexing.ins_under_any_oid(lab, env["ins"]) if env.get("ins") else None
    rows = _candidate_rows(lab, columns, exclude=exclude, same_ins=same_ins)
    found = [] if rows is None else _candidates_among(env, rows)
    return listing.visible(lab, found, criteria=["duplicates"], id_of=lambda c: c.id)


def _same(new: dict, old: dict):
    same_dob = new["birth_date"] == old["birth_date"]
    yield "nir", bool(new["ins"]) and new["ins"] == old["ins"]
    yield "birth_name_dob", same_dob and (
        name_search_key(new["birth_name"]) == name_search_key(old["birth_name"])
    )
    first_new, first_old = (new["first_names"] or [""])[0], (old["first_names"] or [""])[0]
    yield "phonetic_dob", same_dob and bool(phonetic_key(new["birth_name"])) and (
        phonetic_key(new["birth_name"]) == phonetic_key(old["birth_name"])
        and phonetic_key(first_new) == phonetic_key(first_old)
    )


def find_duplicates(lab, data: dict, *, user=None) -> list[Candidate]:
    """Likely duplicates of `data` (checked first): same NIR, birth name + DOB, phonetic + DOB.

    Journaled as a search (criteria "duplicates") since it shows other patients.
    """
    env = intake.clean(data).envelope
    return _journaled_duplicates(lab, user, env)


def _journaled_duplicates(lab, user, env, *, exclude=None) -> list[Candidate]:
    with transaction.atomic():
        found = _duplicate_candidates(lab, env, exclude=exclude)
        _journal_duplicates(lab, user, found)
    return found


def _journal_duplicates(lab, user, found: list[Candidate]) -> None:
    journal(lab=lab, user=user, **_duplicates_entry(found))


def _duplicates_entry(found: list[Candidate]) -> dict:
    return {"action": Action.SEARCH, "object_type": OBJECT_TYPE,
            "detail": {"criteria": ["duplicates"], "results": len(found),
                       "shown": [c.id for c in found]}}


def _lock_identity(lab, columns: dict) -> None:
    """Serialise, until the commit, the registrations that could be duplicates of each other.

    Two records can only be duplicates if they share the value of one of the indexes
    the check queries (same NIR, same birth name + date, same phonetic key + date), so
    on PostgreSQL a transaction-scoped advisory lock per (lab, index, value), taken in
    one global order, is enough: registrations of different people, the common case,
    no longer wait for each other, as they did behind one lock on the lab row (intake
    throughput, bench/RESULTS.md). SQLite already runs one writer at a time.
    """
    lab_id = getattr(lab, "pk", lab)
    if connection.vendor == "sqlite":
        return
    if connection.vendor != "postgresql":
        list(Lab.objects.select_for_update().filter(pk=lab_id).values_list("pk"))
        return
    # Index values have at most MAX_BITS (26) bits, so the rank above them keeps the keys
    # of different indexes apart: 3 << 27 | (2^26 - 1) < 2^31, a valid int4 lock key.
    keys = sorted(
        rank << LOCK_RANK_SHIFT | columns[name]
        for rank, name in enumerate(LOCKED_INDEXES, start=1)
        if columns[name] is not None
    )
    if not keys:
        return
    # Two-int form: (lab, key) never collides with another lab's registrations. One
    # statement, locks taken left to right in ascending order (no deadlock).
    calls = ", ".join(["pg_advisory_xact_lock(%s, %s)"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {calls}", [v for key in keys for v in (lab_id, key)])  # noqa: S608


# --- register, read, update ----------------------------------------------------------------


def register_patient(lab, user, data: dict, *, not_duplicate: bool = False) -> Registered:
    """Check, look for duplicates, then create the sealed record with its journal entry.

    Likely duplicates are refused (DuplicatePatient, with the candidates) unless the
    user states it is another person (`not_duplicate`: twins, a parent's card). The
    same INS/NIR as another record is refused whatever the user states (SameNir): one
    number belongs to one person, and a parent's card is the coverage's `insured_nir`.
    """
    cleaned = intake.clean(data, user_ref=_user_ref(user))
    with transaction.atomic():
        # Between the duplicate check and the insert, registrations of possibly the
        # same person wait for each other, so one sent twice at once is created once.
        keyed = _keyed(lab, cleaned.envelope)  # once: the lock, the check and the row
        _lock_identity(lab, keyed[0])
        found = _duplicate_candidates(lab, cleaned.envelope, columns=keyed[0])
        same_nir = [c for c in found if "nir" in c.reasons]
        refused = same_nir or ([] if not_duplicate else found)
        # The check is journaled when it shows something (or when the user did not
        # wave it away): what the refusal displays is a search of other patients.
        entries = [_duplicates_entry(refused)] if refused or not not_duplicate else []
        if not refused:
            patient = Patient(lab_id=getattr(lab, "pk", lab))
            patient.set_sealed(cleaned.envelope)
            side_rows = _apply_indexes(patient, keyed)
            patient.save(force_insert=True)
            _insert_side_rows(side_rows)
            events.patient_created.send(Patient, lab=lab, patient_id=patient.pk)
            entries.append({"action": Action.CREATE, "object_type": OBJECT_TYPE,
                            "object_id": patient.pk,
                            "detail": {"not_duplicate": True} if not_duplicate else None})
        # Journal last (a lab's chain stays locked from its append to the commit), the
        # check and the creation in one append.
        journal(lab=lab, user=user, entries=entries)
    if same_nir:
        raise SameNir(same_nir)
    if refused:
        # Raised after the commit: showing the candidates is itself journaled.
        raise DuplicatePatient(refused)
    return Registered(patient.pk, cleaned.warnings)


def _resolve(lab, patient_id, *, for_update=False) -> tuple[Patient, int | None]:
    rows = Patient.objects.for_lab(lab)
    if for_update:
        rows = rows.select_for_update()
    (patient_id,) = _ids(patient_id)
    try:
        patient = rows.get(pk=patient_id)
    except Patient.DoesNotExist:
        raise PatientNotFound(f"no patient {patient_id} in this lab") from None
    first = patient.pk
    for _ in range(MAX_REDIRECTS):
        if patient.merged_into_id is None:
            return patient, (first if patient.pk != first else None)
        patient = rows.get(pk=patient.merged_into_id)
    raise PatientError(f"patient {first}: merge redirects loop")


def resolve_patient(lab, patient_id) -> tuple[Patient, int | None]:
    """The row of `patient_id`, merge redirects followed, and the id redirected from (or
    None); nothing unsealed, nothing journaled. PatientNotFound if not in this lab.

    For actions on a patient before (or without) showing it: the action's own journal
    entry names the patient (a request's CREATE does); showing the record then goes
    through `open_patient`, which journals the READ.
    """
    return _resolve(lab, patient_id)


def patient_exists(lab, patient_id) -> bool:
    """Whether `patient_id` names a record of this lab (merged or not); False for a bad id."""
    try:
        (patient_id,) = _ids(patient_id)
    except PatientNotFound:
        return False
    return Patient.objects.for_lab(lab).filter(pk=patient_id).exists()


def merged_into(lab, patient_id) -> list[int]:
    """The ids of the records merged into `patient_id`."""
    return list(Patient.objects.for_lab(lab).filter(merged_into=patient_id)
                .order_by("pk").values_list("pk", flat=True))


def merged_records(lab, patient_ids) -> dict[int, int]:
    """merged record id -> the record it was merged into, for records merged into any of
    `patient_ids`: one query for a batch (an export reads the requests of both)."""
    return dict(Patient.objects.for_lab(lab).filter(merged_into__in=list(patient_ids))
                .values_list("pk", "merged_into_id"))


def get_patient(lab, user, patient_id, purpose: str = "") -> PatientRecord:
    """The unsealed record (following merge redirects), journaled READ."""
    with transaction.atomic():
        patient, redirected = _resolve(lab, patient_id)
        return open_patient(lab, user, patient, redirected, purpose)


def open_patient(lab, user, patient: Patient, redirected: int | None = None,
                 purpose: str = "") -> PatientRecord:
    """Unseal a row already fetched (e.g. by `resolve_patient`): journaled READ."""
    # No savepoint: inside get_patient's transaction it would cost two round trips per read.
    with transaction.atomic(savepoint=False):
        fields = patient.get_sealed()
        merged = merged_into(lab, patient.pk)
        journal(lab=lab, user=user, action=Action.READ, object_type=OBJECT_TYPE,
                object_id=patient.pk, purpose=purpose,
                detail={"redirected_from": redirected} if redirected else None)
    return PatientRecord(patient.pk, fields, redirected, merged)


def _save_indexed(patient: Patient, env: dict) -> None:
    """Seal `env` into the row and rewrite its blind indexes (columns and side rows)."""
    patient.set_sealed(env)
    side_rows = _apply_indexes(patient, _keyed(patient.lab_id, env))
    patient.save()
    PatientIndex.objects.filter(patient=patient).delete()
    _insert_side_rows(side_rows)


def _keep_version(lab, user, patient: Patient, kind: str, previous: dict, fields, reason: str,
                  other: Patient | None = None) -> PatientVersion:
    version = PatientVersion(lab_id=patient.lab_id, patient=patient, kind=kind, other=other,
                             created_by=user if getattr(user, "pk", None) else None)
    version.set_sealed({"previous": previous, "fields": sorted(fields), "reason": reason})
    version.save(force_insert=True)
    return version


def _clean_reason(reason) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise ValidationError({"reason": ["Indiquez la raison de la correction."]})
    if len(text) > 500:
        raise ValidationError({"reason": ["La raison dépasse 500 caractères."]})
    return text


def update_patient(lab, user, patient_id, changes: dict, *, purpose: str = "",
                   reason: str = "", not_duplicate: bool = False) -> list[str]:
    """Correct a record: apply `changes` (input keys; "" or None clears an optional
    field) with the checks of registration; returns warnings.

    Status changes follow status.py (VALI needs `id_document`; RECUP/QUAL need INSi).
    Changing an INS trait of a validated identity takes it back to PROV: the
    document check was of the old traits. When the traits the duplicate check reads
    change, the check runs as at registration (DuplicatePatient unless
    `not_duplicate`; SameNir always). The previous envelope is kept as a sealed
    version (who, when, `reason`).
    """
    if not isinstance(changes, dict) or not changes:
        raise ValidationError({"__all__": ["Aucune modification demandée."]})
    reason = " ".join(str(reason or "").split())[:500]
    with transaction.atomic():
        patient, redirected = _resolve(lab, patient_id, for_update=True)
        if redirected:
            raise PatientError(f"patient {patient_id} was merged into {patient.pk}: edit that one")
        old = patient.get_sealed()
        data = {**intake.as_input(old), **changes}
        if "nir" in changes:
            data.pop("ins", None)
        current = old["identity_status"]
        cleaned = intake.clean(data, current_status=current, user_ref=_user_ref(user))
        env = cleaned.envelope
        traits = (*intake.INS_TRAITS, "ins", "ins_oid")
        if (env["identity_status"] != IdentityStatus.PROV and "id_document" not in changes
                and any(env[k] != old.get(k) for k in traits)):
            env["identity_status"], env["id_document"] = IdentityStatus.PROV.value, None
            cleaned.warnings.append(
                "Traits d'identité modifiés : l'identité repasse au statut provisoire "
                "(un nouveau contrôle de pièce d'identité est nécessaire)."
            )
        changed = sorted(k for k in intake.ENVELOPE_FIELDS if env.get(k) != old.get(k))
        if not changed:
            return cleaned.warnings
        refused = _correction_duplicates(lab, patient, old, env, not_duplicate)
        if refused:
            journal(lab=lab, user=user, **_duplicates_entry(refused))
        else:
            _keep_version(lab, user, patient, PatientVersion.CORRECTION, old, changed, reason)
            _save_indexed(patient, env)
            events.patient_corrected.send(Patient, lab=lab, patient_id=patient.pk)
            journal(lab=lab, user=user, action=Action.UPDATE, object_type=OBJECT_TYPE,
                    object_id=patient.pk, purpose=purpose, detail={"fields": changed})
    if refused:
        raise (SameNir if any("nir" in c.reasons for c in refused) else DuplicatePatient)(
            refused)
    return cleaned.warnings


def _correction_duplicates(lab, patient, old: dict, env: dict,
                           not_duplicate: bool) -> list[Candidate]:
    """The records a correction would duplicate, when it changes what the check reads."""
    new_columns = _keyed(lab, env)[0]
    old_columns = _keyed(lab, old)[0]
    if all(new_columns[n] == old_columns[n] for n in LOCKED_INDEXES):
        return []
    _lock_identity(lab, new_columns)
    mine = {patient.pk, *merged_into(lab, patient.pk)}
    found = [c for c in _duplicate_candidates(lab, env, exclude=patient.pk, columns=new_columns)
             if c.id not in mine]
    same_nir = [c for c in found if "nir" in c.reasons]
    return same_nir or ([] if not_duplicate else found)


@dataclass(frozen=True)
class Version:
    """A previous state of a record, unsealed for display."""

    id: int
    kind: str
    created_at: object
    created_by: str  # the username, "" for the system
    other_id: int | None
    undone_at: object
    fields: tuple[str, ...]
    reason: str
    previous: dict

    @property
    def kind_label(self) -> str:
        return dict(PatientVersion.KINDS)[self.kind]

    @property
    def changes(self) -> list[tuple[str, object]]:
        """(field, value before the change) of the fields it touched."""
        return [(name, self.previous.get(name)) for name in self.fields]


def versions(lab, patient_id) -> list[Version]:
    """The record's previous states, newest first. The caller journals the read of the
    record they belong to (the patient page does)."""
    rows = (PatientVersion.objects.for_lab(lab).filter(patient_id=int(patient_id))
            .select_related("created_by"))
    found = []
    for row in rows:
        env = row.get_sealed()
        by = row.created_by.username if row.created_by else ""
        found.append(Version(row.pk, row.kind, row.created_at, by, row.other_id,
                             row.undone_at, tuple(env["fields"]), env["reason"],
                             env["previous"]))
    return found


# --- merge ----------------------------------------------------------------------------------

UNMERGE_DAYS = 30
KEEP, OTHER = "keep", "other"
# The fields a biologist chooses between, side by side; the rest stays the kept record's.
MERGE_FIELDS = tuple(k for k in intake.ENVELOPE_FIELDS
                     if k not in ("birthplace_label", "ins_oid", "id_document"))


def merge_patients(lab, user, survivor_id, merged_id, *, purpose: str = "",
                   choices: dict | None = None, reason: str = "") -> None:
    """Merge `merged_id` into `survivor_id`: the survivor keeps its record and history,
    taking from the other the fields `choices` names ({field: "other"}); the merged
    record leaves search and redirects to the survivor, its requests shown with the
    survivor's (orders.orders_for_patient follows merges). Journaled on both ids; the
    survivor's previous state is kept so that `unmerge_patients` restores both."""
    survivor_id, merged_id = _ids(survivor_id, merged_id)
    if survivor_id == merged_id:
        raise PatientError("a patient cannot be merged into itself")
    choices = choices or {}
    unknown = sorted(set(choices) - set(MERGE_FIELDS))
    if unknown or any(v not in (KEEP, OTHER) for v in choices.values()):
        raise ValidationError({"__all__": ["Choix de fusion invalide."]})
    with transaction.atomic():
        rows = Patient.objects.for_lab(lab).select_for_update()
        found = {p.pk: p for p in rows.filter(pk__in=[survivor_id, merged_id])}
        for pid in (survivor_id, merged_id):
            if pid not in found:
                raise PatientNotFound(f"no patient {pid} in this lab")
            if found[pid].merged_into_id is not None:
                raise PatientError(f"patient {pid} was already merged into "
                                   f"{found[pid].merged_into_id}")
        survivor, merged = found[survivor_id], found[merged_id]
        before, other = survivor.get_sealed(), merged.get_sealed()
        env = _merged_envelope(before, other, choices)
        taken = sorted(k for k in intake.ENVELOPE_FIELDS if env.get(k) != before.get(k))
        _keep_version(lab, user, survivor, PatientVersion.MERGE, before, taken, reason,
                      other=merged)
        if taken:
            _save_indexed(survivor, env)
        merged.merged_into = survivor
        for name in indexing.COLUMNS:
            setattr(merged, f"{name}_index", None)
        merged.save()
        PatientIndex.objects.filter(patient=merged).delete()
        events.patient_merged.send(Patient, lab=lab, survivor_id=survivor.pk, merged_id=merged.pk)
        journal(lab=lab, user=user, entries=[
            {"action": Action.MERGE, "object_type": OBJECT_TYPE, "object_id": survivor.pk,
             "purpose": purpose,
             "detail": {"role": "survivor", "merged": merged.pk, "fields": taken}},
            {"action": Action.MERGE, "object_type": OBJECT_TYPE, "object_id": merged.pk,
             "purpose": purpose, "detail": {"role": "merged", "into": survivor.pk}},
        ])


def _merged_envelope(keep: dict, other: dict, choices: dict) -> dict:
    env = dict(keep)
    if not keep.get("ins") and other.get("ins") and "ins" not in choices:
        # The person's INS is known from the other record: it must not drop out of the
        # one-NIR-one-record check (the merged record leaves the indexes).
        choices = {**choices, "ins": OTHER}
    for name, side in choices.items():
        if side == OTHER:
            env[name] = other.get(name)
            if name == "ins":
                env["ins_oid"] = other.get("ins_oid")
            if name == "birthplace_code":
                env["birthplace_label"] = other.get("birthplace_label")
    if any(env.get(k) != keep.get(k) for k in (*intake.INS_TRAITS, "ins")):
        # Traits from two records were never checked together against one document.
        env["identity_status"], env["id_document"] = IdentityStatus.PROV.value, None
    return env


def unmerge_patients(lab, user, survivor_id, merged_id, *, purpose: str = "",
                     now=None) -> None:
    """Undo a merge of the last UNMERGE_DAYS days: the merged record is live again with
    its own indexes, and the survivor gets back the fields it took from it (its state
    before the undoing kept as a version). Journaled on both ids."""
    survivor_id, merged_id = _ids(survivor_id, merged_id)
    now = now or timezone.now()
    with transaction.atomic():
        rows = Patient.objects.for_lab(lab).select_for_update()
        found = {p.pk: p for p in rows.filter(pk__in=[survivor_id, merged_id])}
        if set(found) != {survivor_id, merged_id}:
            raise PatientNotFound("no such pair of patients in this lab")
        survivor, merged = found[survivor_id], found[merged_id]
        if merged.merged_into_id != survivor.pk or survivor.merged_into_id is not None:
            raise PatientError(f"patient {merged_id} is not merged into {survivor_id}")
        version = (PatientVersion.objects.for_lab(lab).select_for_update()
                   .filter(patient=survivor, other=merged, kind=PatientVersion.MERGE,
                           undone_at__isnull=True).order_by("-created_at").first())
        if version is None or version.created_at < now - timedelta(days=UNMERGE_DAYS):
            raise PatientError(
                f"Une fusion ne s'annule que dans les {UNMERGE_DAYS} jours : au-delà, "
                "corrigez les dossiers un à un.")
        kept = version.get_sealed()
        current = survivor.get_sealed()
        restored = {**current, **{k: kept["previous"].get(k) for k in kept["fields"]}}
        if restored != current:
            _keep_version(lab, user, survivor, PatientVersion.UNMERGE, current, kept["fields"],
                          "", other=merged)
            _save_indexed(survivor, restored)
        version.undone_at = now
        version.save(update_fields=["undone_at"])
        merged.merged_into = None
        _save_indexed(merged, merged.get_sealed())
        events.patient_corrected.send(Patient, lab=lab, patient_id=survivor.pk)
        events.patient_corrected.send(Patient, lab=lab, patient_id=merged.pk)
        journal(lab=lab, user=user, entries=[
            {"action": Action.UNMERGE, "object_type": OBJECT_TYPE, "object_id": survivor.pk,
             "purpose": purpose, "detail": {"role": "survivor", "unmerged": merged.pk}},
            {"action": Action.UNMERGE, "object_type": OBJECT_TYPE, "object_id": merged.pk,
             "purpose": purpose, "detail": {"role": "merged", "from": survivor.pk}},
        ])


def merge_preview(lab, user, keep_id, other_id, purpose: str = "fusion") -> list[tuple]:
    """(field, kept value, other value, differs) for the side-by-side page; both
    records' reads journaled. Refused for a record already merged."""
    keep_id, other_id = _ids(keep_id, other_id)
    if keep_id == other_id:
        raise PatientError("a patient cannot be merged into itself")
    with transaction.atomic():
        records = []
        for pid in (keep_id, other_id):
            patient, redirected = _resolve(lab, pid)
            if redirected:
                raise PatientError(f"patient {pid} was already merged into {patient.pk}")
            records.append(open_patient(lab, user, patient, None, purpose).fields)
    keep, other = records
    return [(name, keep.get(name), other.get(name), keep.get(name) != other.get(name))
            for name in MERGE_FIELDS]


def merges_undoable(lab, patient_id, *, now=None) -> list[int]:
    """Ids of the records merged into `patient_id` in the last UNMERGE_DAYS days, not undone."""
    now = now or timezone.now()
    return list(PatientVersion.objects.for_lab(lab).filter(
        patient_id=int(patient_id), kind=PatientVersion.MERGE, undone_at__isnull=True,
        created_at__gte=now - timedelta(days=UNMERGE_DAYS), other__merged_into=int(patient_id),
    ).values_list("other_id", flat=True))


def live_envelopes(lab, patient_ids) -> list[tuple[int, dict]]:
    """(id, envelope) of the live patients among `patient_ids`, in id order; merged records
    never appear. The bulk read of an export, which journals the export as a whole."""
    rows = (Patient.objects.for_lab(lab).live().filter(pk__in=list(patient_ids)).order_by("pk")
            .values_list(*Patient.opening_columns()))
    return open_values(rows)


# --- for canaries (etanche.watch) ---------------------------------------------------------


def sample_live_ids(lab, n: int) -> list[int]:
    """Up to `n` live patient ids drawn at random. Ids are random, so the ids that follow
    a random start in id order are a random sample, read through the primary key."""
    rows = Patient.objects.for_lab(lab).live().order_by("pk").values_list("pk", flat=True)
    start = secrets.randbits(63)
    ids = list(rows.filter(pk__gte=start)[:n])
    return ids + list(rows.filter(pk__lt=start)[: n - len(ids)])


def identifiers_in_use(lab, *, ins: str = "", email: str = "", phones=()) -> set[str]:
    """Which of "ins", "email", "phone" a record of the lab (merged ones too) already holds,
    exactly: the blind indexes narrow, unsealing confirms. Nothing is shown, so nothing is
    journaled. A canary must not carry a real patient's identifier."""
    match = Q()
    if ins:
        match |= Q(nir_index=indexing.lookup(lab, "nir", ins))
    email = (email or "").strip().lower()
    if email:
        match |= Q(email_index=indexing.lookup(lab, "email", email))
    if phones:
        keyed = [indexing.lookup(lab, "phone", p) for p in phones]
        match |= Q(pk__in=PatientIndex.objects.filter(
            lab_id=getattr(lab, "pk", lab), name=PatientIndex.PHONE, value__in=keyed,
        ).values("patient_id"))
    if not match:
        return set()
    found = set()
    rows = Patient.objects.for_lab(lab).filter(match).values_list(*Patient.opening_columns())
    for _, env in open_values(rows):
        if ins and env.get("ins") == ins:
            found.add("ins")
        if email and (env.get("email") or "").strip().lower() == email:
            found.add("email")
        if set(phones) & set(env.get("phones") or []):
            found.add("phone")
    return found
