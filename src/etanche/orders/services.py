"""Requests for analyses: create, sample, receive, cancel, reject, read, print labels.

Every function changing state runs in one transaction with its journal entry.
Entries name the patient (object_type "patient", its random id) with the
order id in `detail`, so a patient's access history shows who opened, created
or printed their requests; no entry holds personal data.
"""

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from etanche.journal import services as journal
from etanche.journal.models import Action
from etanche.orders import catalogue, events, labels
from etanche.orders.models import Order, OrderCounter, OrderTest, Specimen, Status
from etanche.orders.preanalytical import (
    CONTAINERS,
    QUESTIONS,
    REJECT_REASONS,
    SPECIMEN_KINDS,
)
from etanche.patients import services as patients
from etanche.patients.validators import check_past_date, check_rpps

PATIENT = "patient"
# Questions a request may leave unanswered; the others must be answered.
OPTIONAL_QUESTIONS = frozenset({"last_period", "sampling_time"})
MAX_TEXT = 2000
# Order of containers on the sampling sheet and the label roll (usual draw order).
CONTAINER_ORDER = list(CONTAINERS)

TRANSITIONS = {
    Status.REGISTERED: {Status.SAMPLED, Status.CANCELLED},
    Status.SAMPLED: {Status.RECEIVED, Status.CANCELLED, Status.REJECTED},
    Status.RECEIVED: {Status.REJECTED},
    Status.CANCELLED: set(),
    Status.REJECTED: set(),
}


class OrderNotFound(Exception):
    """No such order in this lab; the message holds ids at most."""


class TransitionRefused(ValidationError):
    """A status change the workflow does not allow; the message is French, for the form."""


@dataclass
class OrderDetails:
    """An order with its sealed fields opened, for one authorised reader."""

    order: Order
    prescriber_name: str = ""
    prescriber_rpps: str = ""
    prescription_date: str = ""
    clinical_info: str = ""
    answers: dict = field(default_factory=dict)
    fasting: bool | None = None
    notes: str = ""
    cancel_reason: str = ""
    reject_comment: str = ""

    @property
    def answer_rows(self) -> list[tuple[str, str]]:
        rows = []
        for key, value in self.answers.items():
            question = QUESTIONS.get(key)
            if question is None:
                continue
            if question.kind == "yesno":
                value = {True: "oui", False: "non"}.get(value, "non renseigné")
            rows.append((question.label, value or "non renseigné"))
        return rows


# --- numbering ----------------------------------------------------------------------

def next_number(lab, year: int) -> str:
    """The next request number of the lab for `year`, e.g. 2026-000123.

    The UPDATE locks the counter row until the caller's transaction ends, so two
    front desks never get the same number; a rolled-back request frees nothing
    (numbers may skip, never repeat).
    """
    # No savepoint of its own: in a caller's transaction it would cost two round trips,
    # and a failed UPDATE fails the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        _bump_counter(lab, year)
        # One read for both: the reserved list costs the request entry no extra round trip.
        last, reserved = OrderCounter.objects.filter(lab_id=lab.pk, year=year).values_list(
            "last", "reserved").get()
        while last in (reserved or ()):  # a canary holds it: skip, under the same lock
            OrderCounter.objects.filter(lab_id=lab.pk, year=year).update(last=F("last") + 1)
            last += 1
    return _number(year, last)


GAP_WINDOW = timedelta(days=1)


def canary_number(lab, moment) -> str:
    """A request number for a canary's request: real-looking, never taken from the counter.

    The counter is not moved (a canary must use up no real request number, issue 24,
    item 3). First choice: a number skipped by a rolled-back request among those
    registered within a day of `moment` (the counter never goes back, so no request
    will get it). Without such a gap: the number just past the counter, RESERVED on
    the counter row, which next_number() then skips. Either way the number is
    written in `reserved`, so two canaries never share one.
    """
    year = timezone.localdate(moment).year
    with transaction.atomic():
        _ensure_counter(lab, year)
        counter = OrderCounter.objects.select_for_update().get(lab_id=lab.pk, year=year)
        reserved = set(counter.reserved or ())
        ranks = sorted(
            int(n.rpartition("-")[2]) for n in Order.objects.for_lab(lab).filter(
                number__startswith=f"{year}-",
                created_at__range=(moment - GAP_WINDOW, moment + GAP_WINDOW),
            ).values_list("number", flat=True) if n.rpartition("-")[2].isdigit())
        candidates = [n for n in range(ranks[0], ranks[-1]) if n not in reserved
                      and n not in set(ranks)][:50] if ranks else []
        if candidates:
            used = set(Order.objects.for_lab(lab).filter(
                number__in=[_number(year, n) for n in candidates]).values_list(
                    "number", flat=True))
            candidates = [n for n in candidates if _number(year, n) not in used]
        if candidates:
            chosen = secrets.choice(candidates)
        else:
            chosen = max([counter.last, *reserved]) + 1
        counter.reserved = sorted(reserved | {chosen})
        counter.save(update_fields=["reserved"])
    return _number(year, chosen)


def _ensure_counter(lab, year: int) -> None:
    if not OrderCounter.objects.filter(lab_id=lab.pk, year=year).exists():
        try:
            with transaction.atomic():
                OrderCounter.objects.create(lab_id=lab.pk, year=year, last=0)
        except IntegrityError:
            pass  # created meanwhile by another request


def _bump_counter(lab, year: int) -> None:
    bumped = OrderCounter.objects.filter(lab_id=lab.pk, year=year).update(last=F("last") + 1)
    if not bumped:
        try:
            with transaction.atomic():
                OrderCounter.objects.create(lab_id=lab.pk, year=year, last=1)
        except IntegrityError:
            OrderCounter.objects.filter(lab_id=lab.pk, year=year).update(last=F("last") + 1)


def _number(year: int, last: int) -> str:
    return f"{year}-{last:06d}"


def barcode_for(number: str, rank: int) -> str:
    """Digits only, even length: Code 128 set C packs them densely (short bars, small label)."""
    return f"{number.replace('-', '')}{rank:02d}"


# --- validation ---------------------------------------------------------------------

def _clean_text(value, what: str) -> str:
    text = (value or "").strip()
    if len(text) > MAX_TEXT:
        raise ValidationError(f"{what} dépasse {MAX_TEXT} caractères.")
    return text


def _clean_answers(tests, answers: dict, *, required: bool = True) -> dict:
    """The pre-analytical answers the tests ask for; `required=False` (a past request taken
    from another program, which never recorded them) checks only those given."""
    needed = list(dict.fromkeys(k for t in tests for k in t.question_keys))
    if not required:
        needed = [k for k in needed if (answers or {}).get(k) not in (None, "")]
    errors, clean = {}, {}
    for key in needed:
        question = QUESTIONS[key]
        value = (answers or {}).get(key)
        if question.kind == "yesno":
            if value in (True, "oui", "yes", "1", "true"):
                clean[key] = True
            elif value in (False, "non", "no", "0", "false"):
                clean[key] = False
            elif key not in OPTIONAL_QUESTIONS:
                errors[f"q_{key}"] = "Répondez oui ou non : une analyse demandée l'exige."
            continue
        text = _clean_text(str(value) if value is not None else "", question.label)
        if not text and key not in OPTIONAL_QUESTIONS:
            errors[f"q_{key}"] = "Réponse obligatoire pour une analyse demandée."
        elif text:
            clean[key] = text
    if errors:
        raise ValidationError(errors)
    return clean


def _check_tests(lab, codes, *, past: bool = False) -> list:
    """The catalogue's enabled tests the codes name; for a past request (imports), also
    those since disabled and any act of the NABM (catalogue.past_tests)."""
    codes = list(dict.fromkeys(c.strip().upper() for c in codes or [] if c and c.strip()))
    if not codes:
        raise ValidationError({"tests": "Choisissez au moins une analyse."})
    if past:
        found = catalogue.past_tests(lab, codes)
        refusal = "Code inconnu du catalogue du laboratoire et de la NABM : "
    else:
        found = {t.code: t for t in catalogue.enabled_tests(lab).filter(code__in=codes)}
        refusal = "Analyse inconnue ou désactivée au catalogue : "
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise ValidationError({"tests": refusal + ", ".join(unknown) + "."})
    return [found[c] for c in codes]


def _check_prescription(prescriber_name, prescriber_rpps, prescription_date) -> dict:
    errors, out = {}, {}
    out["prescriber_name"] = " ".join((prescriber_name or "").split())
    if not out["prescriber_name"]:
        errors["prescriber_name"] = "Indiquez le prescripteur."
    elif len(out["prescriber_name"]) > 200:
        errors["prescriber_name"] = "Le nom du prescripteur dépasse 200 caractères."
    out["prescriber_rpps"] = ""
    if prescriber_rpps and str(prescriber_rpps).strip():
        try:
            out["prescriber_rpps"] = check_rpps(prescriber_rpps)
        except ValidationError as exc:
            errors["prescriber_rpps"] = exc.messages[0]
    if not prescription_date:
        errors["prescription_date"] = "Indiquez la date de l'ordonnance."
    else:
        try:
            day = check_past_date(prescription_date, what="La date de l'ordonnance",
                                  today=timezone.localdate())
            out["prescription_date"] = day.isoformat()
        except ValidationError as exc:
            errors["prescription_date"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)
    return out


def specimens_for(tests) -> list[str]:
    # A past request's act without a known specimen (catalogue.PastAct) needs no tube.
    containers = {SPECIMEN_KINDS[t.specimen].container for t in tests if t.specimen}
    return [c for c in CONTAINER_ORDER if c in containers]


# --- creating -----------------------------------------------------------------------

@transaction.atomic
def create_order(lab, user, patient, *, tests, prescriber_name, prescription_date,
                 prescriber_rpps="", urgent=False, clinical_info="", answers=None,
                 fasting=None, notes="", past=False) -> Order:
    """Register a request from a prescription, with its specimens; all or nothing.
    `past`: a request of the lab's history (imports), whose pre-analytical answers are
    not asked for: the specimen was taken long ago, and the old program kept none."""
    if patient.lab_id != lab.pk or getattr(patient, "merged_into_id", None):
        raise ValidationError({"patient": "Ce dossier patient n'est pas utilisable."})
    errors = {}
    chosen, prescription, clean_answers = [], {}, {}
    for step in ("tests", "prescription", "answers", "texts"):
        try:
            if step == "tests":
                chosen = _check_tests(lab, tests, past=past)
            elif step == "prescription":
                prescription = _check_prescription(prescriber_name, prescriber_rpps,
                                                   prescription_date)
            elif step == "answers" and chosen:
                clean_answers = _clean_answers(chosen, answers or {}, required=not past)
            elif step == "texts":
                clinical_info = _clean_text(clinical_info, "Le renseignement clinique")
                notes = _clean_text(notes, "La note")
        except ValidationError as exc:
            errors.update(exc.message_dict if hasattr(exc, "error_dict")
                          else {"__all__": exc.messages})
    if errors:
        raise ValidationError(errors)
    if fasting is None and "fasting" in clean_answers:
        fasting = clean_answers["fasting"]
    number = next_number(lab, timezone.localdate().year)
    now = timezone.now()
    order = Order(lab=lab, patient=patient, number=number,
                  urgent=bool(urgent), created_at=now, created_by=user, status_changed_at=now)
    order.set_sealed({**prescription, "clinical_info": clinical_info, "answers": clean_answers,
                      "fasting": fasting if fasting is None else bool(fasting), "notes": notes,
                      "cancel_reason": "", "reject_comment": ""})
    rows = [OrderTest(lab=lab, order=order, code=t.code, label=t.label, specimen=t.specimen)
            for t in chosen]
    tubes = [Specimen(lab=lab, order=order, barcode=barcode_for(order.number, rank), container=c)
             for rank, c in enumerate(specimens_for(chosen), start=1)]
    order.save(force_insert=True)
    OrderTest.objects.bulk_create(rows)
    Specimen.objects.bulk_create(tubes)
    events.request_created.send(Order, lab=lab, order=order)
    # Journal last: the counter's row is locked before the journal's chain, as everywhere.
    journal.record(lab=lab, user=user, action=Action.CREATE, object_type=PATIENT,
                   object_id=patient.pk, purpose="enregistrement d'une demande",
                   detail={"order": order.pk, "tests": len(chosen)})
    return order


# --- editing before sampling ---------------------------------------------------------

@transaction.atomic
def update_order(lab, user, order: Order, *, tests, prescriber_name, prescription_date,
                 prescriber_rpps="", urgent=False, clinical_info="", answers=None,
                 notes="") -> Order:
    """Correct a request not yet sampled: tests added or removed, prescriber, texts.

    Tubes follow the tests: a container still needed keeps its barcode (a label already
    printed stays good), a new one gets the next free rank, one no longer needed is
    removed. Journaled as an UPDATE with what changed (counts and flags only).
    """
    order = _locked(lab, order)
    if order.status != Status.REGISTERED:
        raise TransitionRefused("Seule une demande pas encore prélevée peut être modifiée.")
    errors, chosen, prescription, clean_answers = {}, [], {}, {}
    for step in ("tests", "prescription", "answers", "texts"):
        try:
            if step == "tests":
                chosen = _check_tests(lab, tests)
            elif step == "prescription":
                prescription = _check_prescription(prescriber_name, prescriber_rpps,
                                                   prescription_date)
            elif step == "answers" and chosen:
                clean_answers = _clean_answers(chosen, answers or {})
            elif step == "texts":
                clinical_info = _clean_text(clinical_info, "Le renseignement clinique")
                notes = _clean_text(notes, "La note")
        except ValidationError as exc:
            errors.update(exc.message_dict if hasattr(exc, "error_dict")
                          else {"__all__": exc.messages})
    if errors:
        raise ValidationError(errors)
    old = order.get_sealed()
    before = set(order.tests.values_list("code", flat=True))
    after = {t.code for t in chosen}
    OrderTest.objects.for_lab(lab).filter(order=order).exclude(code__in=after).delete()
    OrderTest.objects.bulk_create([
        OrderTest(lab=lab, order=order, code=t.code, label=t.label, specimen=t.specimen)
        for t in chosen if t.code not in before])
    needed = specimens_for(chosen)
    tubes = {s.container: s for s in order.specimens.all()}
    Specimen.objects.for_lab(lab).filter(order=order).exclude(container__in=needed).delete()
    used = {int(s.barcode[-2:]) for c, s in tubes.items() if c in needed}
    free = (rank for rank in range(1, 100) if rank not in used)
    Specimen.objects.bulk_create([
        Specimen(lab=lab, order=order, barcode=barcode_for(order.number, next(free)),
                 container=c) for c in needed if c not in tubes])
    fasting = clean_answers.get("fasting", old.get("fasting"))
    changed_prescriber = (prescription["prescriber_name"], prescription["prescriber_rpps"]) != (
        old.get("prescriber_name"), old.get("prescriber_rpps"))
    order.urgent = bool(urgent)
    order.set_sealed({**old, **prescription, "clinical_info": clinical_info,
                      "answers": clean_answers, "fasting": fasting, "notes": notes})
    order.save(update_fields=["urgent", "sealed", "key_version"])
    journal.record(lab=lab, user=user, action=Action.UPDATE, object_type=PATIENT,
                   object_id=order.patient_id, purpose="modification d'une demande",
                   detail={"order": order.pk, "tests_added": len(after - before),
                           "tests_removed": len(before - after),
                           "prescriber_changed": changed_prescriber})
    return order


# --- reading ------------------------------------------------------------------------

def get_order(lab, pk) -> Order:
    """The order `pk` of this lab (its creator joined); OrderNotFound otherwise."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise OrderNotFound("order ids are integers") from None
    order = Order.objects.for_lab(lab).select_related("created_by").filter(pk=pk).first()
    if order is None:
        raise OrderNotFound(f"no order {pk} in this lab")
    return order


def read_order(lab, user, order: Order, *, purpose: str = "consultation d'une demande"
               ) -> OrderDetails:
    """Open the sealed part of an order; journaled as a read of the patient's record."""
    journal.record(lab=lab, user=user, action=Action.READ, object_type=PATIENT,
                   object_id=order.patient_id, purpose=purpose, detail={"order": order.pk})
    fields = order.get_sealed()
    return OrderDetails(order=order, **{k: fields.get(k) for k in Order.SEALED_KEYS
                                        if fields.get(k) is not None})


def patient_of(lab, user, order: Order, *, purpose: str):
    """The request's patient record, for a page or a print whose own journal entry already
    names the patient (read_order, label_pdf): no second entry for the same access
    (issue 24, item 8: one row per access). A record merged since is opened, journaled,
    through the patients service, which follows the merge."""
    found = patients.live_envelopes(lab, [order.patient_id])
    if found:
        return patients.PatientRecord(found[0][0], found[0][1])
    return patients.get_patient(lab, user, order.patient_id, purpose=purpose)


def orders_of_day(lab, day: date | None = None):
    """Requests registered on `day` (local time), newest first: operational data only."""
    day = day or timezone.localdate()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return (Order.objects.for_lab(lab).filter(created_at__gte=start,
                                              created_at__lt=start + timedelta(days=1))
            .prefetch_related("tests", "specimens").order_by("-created_at"))


def record_ids(patient) -> list[int]:
    """The patient's id and those of the records merged into it."""
    return [patient.pk, *patient.merged_records.values_list("pk", flat=True)]


def names_for_day(lab, user, orders, *, purpose: str) -> dict[int, str]:
    """{patient id: "BIRTH NAME First"} for the requests of a page of today's list, each
    patient shown journaled as a READ (one per person, with the purpose)."""
    ids = list(dict.fromkeys(o.patient_id for o in orders))
    with transaction.atomic():
        found = patients.live_envelopes(lab, ids)
        names = {}
        for pk, env in found:
            first = (env.get("first_names") or [""])[0]
            names[pk] = f"{(env.get('birth_name') or '').upper()} {first}".strip()
        for pk in names:
            journal.record(lab=lab, user=user, action=Action.READ, object_type=PATIENT,
                           object_id=pk, purpose=purpose, detail={"shown": "nom"})
    return names


def orders_for_patient(lab, patient):
    """A patient's requests, including those of records merged into it."""
    ids = record_ids(patient)
    return (Order.objects.for_lab(lab).filter(patient_id__in=ids)
            .prefetch_related("tests").order_by("-created_at"))


def requests_of_patients(lab, patient_ids, *, since=None, sealed: bool = False,
                         specimens: bool = False) -> dict[int, list[dict]]:
    """The requests of many patients at once, oldest first, as plain dicts: pk, number,
    status, urgent, created_at, sealed (the envelope when `sealed`, else {}), tests
    [(code, label)], specimens [{barcode, container, sampled_at, received_at}] when asked.
    The bulk read of an export, which journals the export as a whole."""
    rows = Order.objects.for_lab(lab).filter(patient_id__in=list(patient_ids))
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    rows = list(rows.order_by("created_at", "pk"))
    ids = [order.pk for order in rows]
    tests: dict[int, list] = {}
    for order_id, code, label in (OrderTest.objects.for_lab(lab).filter(order_id__in=ids)
                                  .order_by("code").values_list("order_id", "code", "label")):
        tests.setdefault(order_id, []).append((code, label))
    tubes: dict[int, list] = {}
    if specimens:
        for order_id, *values in (Specimen.objects.for_lab(lab).filter(order_id__in=ids)
                                  .order_by("barcode").values_list(
                                      "order_id", "barcode", "container", "sampled_at",
                                      "received_at")):
            tubes.setdefault(order_id, []).append(
                dict(zip(("barcode", "container", "sampled_at", "received_at"), values,
                         strict=True)))
    found: dict[int, list[dict]] = {}
    for order in rows:
        found.setdefault(order.patient_id, []).append({
            "pk": order.pk, "number": order.number, "status": order.status,
            "urgent": order.urgent, "created_at": order.created_at,
            "sealed": order.get_sealed() if sealed else {}, "tests": tests.get(order.pk, []),
            "specimens": tubes.get(order.pk, []),
        })
    return found


# --- workflow -----------------------------------------------------------------------

def _move(order: Order, target: str) -> None:
    if target not in TRANSITIONS[Status(order.status)]:
        raise TransitionRefused(
            f"Impossible de passer une demande « {Status(order.status).label} » "
            f"à l'état « {Status(target).label} »."
        )
    order.status = target
    order.status_changed_at = timezone.now()


def _locked(lab, order: Order) -> Order:
    # Re-read under lock: two screens acting on one request must not both win.
    return Order.objects.for_lab(lab).select_for_update().get(pk=order.pk)


@transaction.atomic
def record_sampling(lab, user, order: Order, *, sampled_at=None, collector=None) -> Order:
    """Every specimen of the request was drawn at `sampled_at` by `collector` (default: user)."""
    order = _locked(lab, order)
    sampled_at = sampled_at or timezone.now()
    if sampled_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"sampled_at": "L'heure de prélèvement est dans le futur."})
    if sampled_at < order.created_at - timedelta(days=2):
        raise ValidationError({"sampled_at": "L'heure de prélèvement précède la demande de "
                                             "plus de deux jours."})
    collector = collector or user
    _move(order, Status.SAMPLED)
    order.save(update_fields=["status", "status_changed_at"])
    order.specimens.update(sampled_at=sampled_at, collector=collector)
    events.request_changed.send(Order, lab=lab, order=order)  # the collection time
    journal.record(lab=lab, user=user, action=Action.UPDATE, object_type=PATIENT,
                   object_id=order.patient_id, purpose="prélèvement",
                   detail={"order": order.pk, "status": order.status})
    return order


@transaction.atomic
def receive(lab, user, order: Order) -> Order:
    order = _locked(lab, order)
    _move(order, Status.RECEIVED)
    order.save(update_fields=["status", "status_changed_at"])
    order.specimens.update(received_at=order.status_changed_at)
    journal.record(lab=lab, user=user, action=Action.UPDATE, object_type=PATIENT,
                   object_id=order.patient_id, purpose="réception",
                   detail={"order": order.pk, "status": order.status})
    return order


def _reseal(order: Order, **changes) -> None:
    fields = order.get_sealed()
    fields.update(changes)
    order.set_sealed(fields)


@transaction.atomic
def cancel(lab, user, order: Order, reason: str) -> Order:
    reason = _clean_text(reason, "Le motif")
    if not reason:
        raise ValidationError({"reason": "Indiquez le motif de l'annulation."})
    order = _locked(lab, order)
    _move(order, Status.CANCELLED)
    _reseal(order, cancel_reason=reason)
    order.save(update_fields=["status", "status_changed_at", "sealed", "key_version"])
    events.request_cancelled.send(Order, lab=lab, order=order)
    journal.record(lab=lab, user=user, action=Action.UPDATE, object_type=PATIENT,
                   object_id=order.patient_id, purpose="annulation",
                   detail={"order": order.pk, "status": order.status})
    return order


@transaction.atomic
def reject(lab, user, order: Order, reason: str, comment: str = "") -> Order:
    if reason not in REJECT_REASONS:
        raise ValidationError({"reason": "Choisissez un motif de non-conformité de la liste."})
    comment = _clean_text(comment, "Le commentaire")
    order = _locked(lab, order)
    _move(order, Status.REJECTED)
    order.reject_reason = reason
    _reseal(order, reject_comment=comment)
    order.save(update_fields=["status", "status_changed_at", "reject_reason", "sealed",
                              "key_version"])
    journal.record(lab=lab, user=user, action=Action.UPDATE, object_type=PATIENT,
                   object_id=order.patient_id, purpose="non-conformité",
                   detail={"order": order.pk, "status": order.status, "reason": reason})
    return order


def move_orders(lab, from_patient, to_patient) -> int:
    """For a merge: re-attach the requests of `from_patient` to the surviving record.

    The caller (patients.services.merge_patients) holds the transaction and
    journals the merge.
    """
    if from_patient.lab_id != lab.pk or to_patient.lab_id != lab.pk:
        raise ValueError("both records must belong to the lab")
    # Row by row, not one UPDATE: the patient is bound to each envelope, which re-seals.
    moved = list(Order.objects.for_lab(lab).select_for_update().filter(patient_id=from_patient.pk))
    for order in moved:
        order.patient_id = to_patient.pk
        order.save(update_fields=["patient"])
    return len(moved)


# --- labels -------------------------------------------------------------------------

def label_pdf(lab, user, order: Order, *, barcode: str | None = None) -> bytes:
    """The tube labels of a request (or of its one tube `barcode`: a reprint), built in
    memory; journaled as a PRINT of the patient.

    Refused for a cancelled or rejected request: its tubes must not be drawn.
    """
    if order.status in (Status.CANCELLED, Status.REJECTED):
        raise TransitionRefused("Demande annulée ou refusée : pas d'étiquettes.")
    specimens = list(order.specimens.select_related("collector"))
    if barcode is not None:
        specimens = [s for s in specimens if s.barcode == barcode]
        if not specimens:
            raise OrderNotFound("no such tube on this request")
    with transaction.atomic():
        fields = patient_of(lab, user, order, purpose="impression d'étiquettes").fields
        identity = labels.LabelIdentity(
            birth_name=fields["birth_name"], used_name=fields.get("used_name") or "",
            first_name=(fields.get("first_names") or [""])[0],
            birth_date=date.fromisoformat(fields["birth_date"]) if fields.get("birth_date")
            else None,
            sex=fields.get("sex") or "")
        pdf = labels.render(identity, [
            labels.LabelSpecimen(
                barcode=s.barcode, container=CONTAINERS[s.container].label,
                sampled_at=s.sampled_at,
                collector=s.collector.get_full_name() if s.collector_id else "",
                order_number=order.number, urgent=order.urgent)
            for s in specimens
        ])
        detail = {"order": order.pk, "labels": len(specimens)}
        if barcode is not None:
            detail["reprint"] = True
        journal.record(lab=lab, user=user, action=Action.PRINT, object_type=PATIENT,
                       object_id=order.patient_id, purpose="étiquettes de tubes",
                       detail=detail)
    return pdf


# --- the patient's receipt ----------------------------------------------------------

def receipt(lab, user, order: Order) -> dict:
    """What the patient's receipt shows: request number, date, tests, the patient's name;
    no clinical information, no answers, no prescriber. Journaled as a PRINT."""
    with transaction.atomic():
        record = patient_of(lab, user, order, purpose="reçu du patient")
        journal.record(lab=lab, user=user, action=Action.PRINT, object_type=PATIENT,
                       object_id=order.patient_id, purpose="reçu du patient",
                       detail={"order": order.pk, "receipt": True})
    return {"order": order, "p": record.summary,
            "tests": [(t.code, t.label) for t in order.tests.all()]}


# --- demo ---------------------------------------------------------------------------
