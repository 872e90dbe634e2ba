"""Import a previous software's past requests, after its patients (imports.services).

Each row: request number (the previous software's, kept sealed in the
ImportedRecord; Étanche gives its own number as for any request), date
(the prescription's), prescriber and RPPS, NABM codes, status, urgency, and its
patient: by the previous software's patient id (a patient this lab imported)
or by identity (NIR, or birth name + first name + birth date) matching exactly
one patient of the lab. Each goes through `orders.services.create_order`, the
request form's own checks (but the pre-analytical answers, which a past request's file
does not hold: `past=True`): pass 1 creates each one inside a transaction rolled
back at the end (nothing stays), pass 2 writes in batches, each one transaction
with its ImportedRecord rows, so a re-run skips what a killed run committed.
Statuses move through the orders workflow (sampled, received, cancelled).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from etanche.imports import fields as F
from etanche.imports import services as base
from etanche.imports.models import ImportedRecord, Kind
from etanche.imports.report import Report
from etanche.journal.models import Outcome
from etanche.orders import services as orders
from etanche.patients import nir as nirs
from etanche.patients import services as patients
from etanche.patients.models import Patient
from etanche.vault import services as vault
from etanche.vault.models import new_record_id

BATCH = 500
# Folded words (accents and case ignored), both genders: "demande validée", "dossier validé".
STATUSES = {
    "registered": ("enregistree", "enregistre", "registered", "en attente", "active",
                   "ouverte", "ouvert", "creee", "cree", "nouvelle", "nouveau"),
    "sampled": ("prelevee", "preleve", "sampled", "en cours", "en cours d analyse"),
    "received": ("recue", "recu", "received", "terminee", "termine", "validee", "valide",
                 "completed", "done", "faite", "fait", "close", "clos", "cloturee", "cloture",
                 "rendue", "rendu", "facturee", "facture", "archivee", "archive"),
    "cancelled": ("annulee", "annule", "cancelled", "revoked", "supprimee", "supprime",
                  "refusee", "refuse", "rejected"),
}
_STATUS = {word: status for status, words in STATUSES.items() for word in words}
YES = {"1", "oui", "o", "true", "vrai", "yes", "y", "urgent", "u", "x"}
CANCEL_REASON = "Demande reprise de l'ancien logiciel, annulée dans celui-ci."


class Rejected(Exception):
    def __init__(self, reasons: list[tuple[str, str]]):
        self.reasons = reasons


def _patient_by_identity(lab, data: dict) -> list[int]:
    env = {"ins": "".join((data.get("nir") or "").split()).upper(),
           "birth_name": data.get("birth_name") or "",
           "first_names": data.get("first_names") or [], "birth_date": data.get("birth_date"),
           "ins_oid": nirs.INS_OID_NIR, "used_name": "", "email": ""}
    if not env["ins"] and not (env["birth_name"] and env["birth_date"]):
        return []
    found = base.lab_duplicates(lab, [env])[0]
    exact = [c for c in found if "nir" in c.reasons] or \
        [c for c in found if "birth_name_dob" in c.reasons]
    return [c.id for c in exact]


def resolve_patient(lab, data: dict, patient_digest) -> Patient:
    source = (data.get("patient_source_id") or "").strip()
    if source:
        target = (ImportedRecord.objects.for_lab(lab)
                  .filter(kind=Kind.PATIENT, digest=patient_digest(base.source_text(source)))
                  .values_list("target_id", flat=True).first())
        if target is None:
            raise Rejected([("patient_source_id", "Aucun patient importé ne porte cet "
                             "identifiant de l'ancien logiciel (importez d'abord les patients).")])
        ids = [target]
    else:
        ids = _patient_by_identity(lab, data)
        if not ids:
            raise Rejected([("patient", "Aucun patient du laboratoire ne correspond à cette "
                             "identité (NIR, ou nom, prénom et date de naissance).")])
        if len(ids) > 1:
            raise Rejected([("patient", "Plusieurs patients du laboratoire correspondent à "
                             "cette identité : indiquez l'identifiant de l'ancien logiciel.")])
    try:
        patient, _ = patients.resolve_patient(lab, ids[0])  # a merged record: its survivor
    except patients.PatientNotFound:
        raise Rejected([("patient", "Le patient de cette demande n'existe plus.")]) from None
    return patient


def _status(data: dict) -> str:
    text = F.fold(data.get("status") or "")
    if not text:
        return "registered"
    status = _STATUS.get(text)
    if status is None:
        raise Rejected([("status", "Statut de demande inconnu (attendu : enregistrée, "
                         "prélevée, reçue, annulée).")])
    return status


def create(lab, user, data: dict, patient_digest):
    """The request of one row, through the orders services; raises Rejected."""
    problems: list[tuple[str, str]] = []
    if not (data.get("number") or data.get("source_id")):
        problems.append(("number", "Indiquez le numéro de la demande dans l'ancien logiciel."))
    try:
        status = _status(data)
    except Rejected as exc:
        problems += exc.reasons
        status = "registered"
    try:
        patient = resolve_patient(lab, data, patient_digest)
    except Rejected as exc:
        raise Rejected(problems + exc.reasons) from None
    try:
        with transaction.atomic():
            order = orders.create_order(
                lab, user, patient, tests=data.get("tests") or [],
                prescriber_name=data.get("prescriber_name", ""),
                prescriber_rpps=data.get("prescriber_rpps", ""),
                prescription_date=data.get("date"),
                urgent=F.fold(data.get("urgent") or "") in YES,
                clinical_info=data.get("clinical_info", ""), answers=data.get("answers"),
                fasting=data.get("fasting"), notes=_notes(data), past=True)
            if problems:
                raise Rejected(problems)
            if status in ("sampled", "received"):
                order = orders.record_sampling(lab, user, order)
            if status == "received":
                order = orders.receive(lab, user, order)
            if status == "cancelled":
                order = orders.cancel(lab, user, order, CANCEL_REASON)
    except ValidationError as exc:
        reasons = problems + [(name, m) for name, messages in exc.message_dict.items()
                              for m in messages] if hasattr(exc, "error_dict") else \
            problems + [("__all__", m) for m in exc.messages]
        raise Rejected(reasons) from None
    return order


def _notes(data: dict) -> str:
    site = f"Site : {data['site']}" if data.get("site") else ""
    return "\n".join(t for t in (data.get("notes") or "", site) if t)


def _key(data: dict, digest) -> str:
    return digest(base.source_text(data.get("source_id") or data.get("number") or ""))


def _check_pass(lab, user, path, plan_, report: Report) -> tuple[set[int], set[int]]:
    refused: set[int] = set()
    skip: set[int] = set()
    digest = base.digester(lab, Kind.REQUEST)
    patient_digest = base.digester(lab, Kind.PATIENT)
    seen: dict[str, int] = {}
    with transaction.atomic():
        for number, data, _source, conversion in base.source_rows(path, plan_):
            report.rows += 1
            try:
                if conversion:
                    raise Rejected(conversion)
                key = _key(data, digest)
                if key in seen:
                    report.duplicate(number, "number", other_row=seen[key])
                    skip.add(number)
                    continue
                seen[key] = number
                if base.already_imported(lab, Kind.REQUEST, [key]):
                    report.already += 1
                    skip.add(number)
                    continue
                create(lab, user, data, patient_digest)
            except Rejected as exc:
                refused.add(number)
                for name, reason in exc.reasons:
                    report.reject(number, name, reason, base._column_of(plan_.mapping, name))
        transaction.set_rollback(True)  # a check, not a write: every request goes
    return refused, skip


def _write_pass(lab, user, path, plan_, refused, skip, report: Report, sha: str) -> None:
    digest = base.digester(lab, Kind.REQUEST)
    patient_digest = base.digester(lab, Kind.PATIENT)
    rows = base.source_rows(path, plan_)
    while True:
        done = 0
        with transaction.atomic():
            items, records = [], []
            for number, data, _source, _conversion in rows:
                if number in refused or number in skip:
                    continue
                key = _key(data, digest)
                if base.already_imported(lab, Kind.REQUEST, [key]):
                    continue
                try:
                    order = create(lab, user, data, patient_digest)
                except Rejected:
                    raise base.ImportRefused(
                        "Le fichier ou le laboratoire a changé pendant l'import : relancez-le."
                    ) from None
                rid = new_record_id()
                items.append((rid, {"source_id": data.get("source_id") or "",
                                    "number": data.get("number") or "", "row": number},
                              ImportedRecord.binding_of({"revision": 1, "kind": Kind.REQUEST,
                                                         "target_id": order.pk})))
                records.append(ImportedRecord(
                    id=rid, lab_id=lab.pk, kind=Kind.REQUEST, digest=key, target_id=order.pk,
                    file_sha256=sha, created_at=timezone.now(), revision=1))
                done += 1
                if done >= BATCH:
                    break
            if records:
                tokens = vault.seal_many(lab.pk, ImportedRecord.record_type(), items)
                for rec, token in zip(records, tokens, strict=True):
                    rec.sealed, rec.key_version = token, vault.token_key_version(token)
                ImportedRecord.objects.bulk_create(records)
        report.imported += done
        if done < BATCH:
            return


def import_requests(lab, user, path, plan_, *, dry_run: bool = False,
                    accept_valid: bool = False, progress=None, via: str = "cli",
                    sha: str | None = None) -> Report:
    if plan_.kind != "requests":
        raise base.ImportRefused("Ce plan n'est pas celui d'un import de demandes.")
    sha = sha or base.sha256_of(path)
    report = Report("requests")
    refused, skip = _check_pass(lab, user, path, plan_, report)
    blocked = bool(refused) and not accept_valid
    options = {"dry_run": dry_run, "accept_valid": accept_valid, "via": via}
    if dry_run or blocked:
        base._journal(lab, user, report.finish(), sha, plan_,
                      "dry-run" if dry_run else "refused",
                      outcome=Outcome.FAILED if blocked else Outcome.OK, **options)
        return report
    base._journal(lab, user, report, sha, plan_, "start", **options)
    report.written = True
    try:
        _write_pass(lab, user, path, plan_, refused, skip, report, sha)
    except BaseException:
        base._journal(lab, user, report.finish(), sha, plan_, "end", outcome=Outcome.FAILED,
                      **options)
        raise
    base._journal(lab, user, report.finish(), sha, plan_, "end", **options)
    return report

