"""Data-subject requests: record one, watch its deadline, answer it.

    from etanche.rights import services as rights
    req = rights.record_request(lab, dpo, patient_id, "access", identity_check="CNI vue")
    answer = rights.answer_access(lab, dpo, req, recipient="age1...")  # or recipient=None
    answer.data, answer.passphrase  # age file (zip inside); passphrase when no age key

Access and portability get the PDF and the FHIR Bundle (rights/answer.py) in one
ZIP, encrypted to the person's age key, or, when they have none, to a random
passphrase (vault/passphrase.py) that the DPO gives them separately (by phone, at
the desk): the file and its password never travel together. Rectification goes
through the correction page; erasure and objection get a letter (`letter`) saying
what the retention rules decide and on which legal basis. Every step is journaled
on the patient, with ids only.
"""

import calendar
import io
import zipfile
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.patients import services as patients
from etanche.rights import answer as answers
from etanche.rights.models import Right, RightsSettings, Status, SubjectRequest
from etanche.vault import age, passphrase

OBJECT_TYPE = "patient"
IDENTITY_CHECKS_MAX = 500


class RightsError(Exception):
    """A refused operation; the message is French and holds ids at most."""


def due_date(received: date) -> date:
    """One month after receipt (GDPR art. 12(3)): the same day of the next month, or
    that month's last day when it has no such day (periods counted as in EU
    regulation 1182/71, art. 3(2)(c))."""
    year, month = (received.year + 1, 1) if received.month == 12 else (
        received.year, received.month + 1)
    return date(year, month, min(received.day, calendar.monthrange(year, month)[1]))


def days_left(request: SubjectRequest, today: date | None = None) -> int:
    return (request.due_on - (today or timezone.localdate())).days


def record_request(lab, user, patient_id, right: str, *, identity_check: str,
                   received_on: date | None = None, notes: str = "") -> SubjectRequest:
    errors = {}
    if right not in Right.values:
        errors["right"] = ["Choisissez le droit exercé."]
    check = " ".join(str(identity_check or "").split())
    if not check:
        errors["identity_check"] = ["Indiquez comment l'identité du demandeur a été vérifiée."]
    elif len(check) > IDENTITY_CHECKS_MAX:
        errors["identity_check"] = [f"Pas plus de {IDENTITY_CHECKS_MAX} caractères."]
    received_on = received_on or timezone.localdate()
    if received_on > timezone.localdate():
        errors["received_on"] = ["La date de réception est dans le futur."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        try:
            patient, _ = patients.resolve_patient(lab, patient_id)
        except patients.PatientNotFound:
            raise ValidationError({"patient": ["Aucun dossier de ce numéro dans le "
                                               "laboratoire."]}) from None
        request = SubjectRequest(lab=lab, patient_id=patient.pk, right=right,
                                 received_on=received_on, due_on=due_date(received_on),
                                 created_by=user if getattr(user, "pk", None) else None)
        request.set_sealed({"identity_check": check, "notes": str(notes or "")[:4000],
                            "answer": ""})
        request.save(force_insert=True)
        journal(lab=lab, user=user, action=Action.SUBJECT_REQUEST, object_type=OBJECT_TYPE,
                object_id=patient.pk, purpose="droits de la personne",
                detail={"request": request.pk, "right": right,
                        "due_on": request.due_on.isoformat()})
    return request


def open_requests(lab):
    return SubjectRequest.objects.for_lab(lab).filter(status=Status.OPEN)


def held_patient_ids(lab) -> set[int]:
    """Records under a legal hold because a data-subject request about them is open."""
    return set(open_requests(lab).values_list("patient_id", flat=True))


@dataclass
class Answer:
    data: bytes  # an age file; inside, a ZIP of reponse.pdf and dossier-fhir.json
    passphrase: str | None  # None when encrypted to the person's age key
    filename: str


def answer_access(lab, user, request: SubjectRequest, *, recipient: str | None = None,
                  now=None) -> Answer:
    """The access/portability answer, encrypted; the request marked answered."""
    if request.lab_id != lab.pk:
        raise RightsError("Demande inconnue dans ce laboratoire.")
    if request.right not in (Right.ACCESS, Right.PORTABILITY):
        raise RightsError("Seules les demandes d'accès et de portabilité reçoivent ce dossier.")
    if recipient:
        try:
            recipient = age.parse_recipient(recipient)
        except age.BadRecipient as exc:
            raise ValidationError({"recipient": [str(exc)]}) from None
    full_names = RightsSettings.objects.filter(lab=lab, staff_full_names=True).exists()
    with transaction.atomic():
        record = patients.get_patient(lab, user, request.patient_id, "droit d'accès")
        gathered = answers.gather(lab, record.id, record.merged_records, record.fields)
        history = answers.accesses(lab, record.id, record.merged_records,
                                   full_names=full_names)
        letter = answers.pdf(lab, gathered, record.fields, history, request_id=request.pk,
                             now=now)
        fhir = answers.bundle_bytes(answers.bundle(gathered, now=now))
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("reponse.pdf", letter)
            archive.writestr("dossier-fhir.json", fhir)
        secret = None if recipient else passphrase.new_passphrase()
        data = (age.encrypt_to(packed.getvalue(), [recipient]) if recipient
                else passphrase.encrypt(packed.getvalue(), secret))
        _close(request, user, "dossier chiffré remis "
                              + ("à la clé age de la personne" if recipient
                                 else "avec un mot de passe communiqué à part"))
        journal(lab=lab, user=user, action=Action.SUBJECT_ANSWER, object_type=OBJECT_TYPE,
                object_id=record.id, purpose="droits de la personne",
                detail={"request": request.pk, "right": request.right,
                        "requests": len(gathered["requests"]), "accesses": len(history),
                        "delivery": "age-key" if recipient else "passphrase"})
    return Answer(data, secret, f"reponse-droit-acces-{request.pk}.zip.age")


def _close(request: SubjectRequest, user, summary: str) -> None:
    sealed = request.get_sealed()
    sealed["answer"] = summary
    request.set_sealed(sealed)
    request.status = Status.ANSWERED
    request.answered_at = timezone.now()
    request.answered_by = user if getattr(user, "pk", None) else None
    request.save()


# The answer to erasure and objection: the lab keeps what the law makes it keep.
LETTERS = {
    Right.ERASURE: (
        "Votre demande d'effacement a bien été reçue. Les comptes rendus et les données des "
        "examens de biologie médicale sont conservés pendant la durée que fixe la "
        "réglementation (voir docs/retention.md du laboratoire) : le RGPD ne prévoit pas "
        "d'effacement lorsque le traitement est nécessaire au respect d'une obligation légale "
        "ou à des fins de médecine et de santé publique (art. 17, paragraphe 3, points b et "
        "c). Votre dossier sera supprimé à l'échéance de cette durée ; les données qui ne "
        "relèvent pas de cette obligation (par exemple un courriel ou un téléphone "
        "facultatifs) peuvent être effacées dès maintenant sur votre demande."),
    Right.OBJECTION: (
        "Votre demande d'opposition a bien été reçue. Le droit d'opposition (art. 21 du RGPD) "
        "porte sur les traitements fondés sur l'intérêt public ou l'intérêt légitime ; le "
        "dossier d'un laboratoire de biologie médicale est tenu pour respecter une obligation "
        "légale (art. 6, paragraphe 1, point c, et art. 9, paragraphe 2, point h), auquel "
        "l'opposition ne s'applique pas. Le laboratoire ne fait de vos données aucun autre "
        "usage (ni prospection, ni recherche sans votre accord). Votre dossier sera supprimé "
        "à l'échéance de la durée de conservation (docs/retention.md)."),
    Right.RECTIFICATION: (
        "Votre demande de rectification a bien été reçue : les données inexactes ont été "
        "corrigées, les valeurs précédentes conservées dans l'historique du dossier."),
}


def answer_with_letter(lab, user, request: SubjectRequest) -> str:
    """Close an erasure, objection or rectification request with its letter (French)."""
    if request.lab_id != lab.pk:
        raise RightsError("Demande inconnue dans ce laboratoire.")
    if request.right not in LETTERS:
        raise RightsError("Cette demande se répond par le dossier d'accès.")
    text = LETTERS[Right(request.right)]
    with transaction.atomic():
        _close(request, user, text)
        journal(lab=lab, user=user, action=Action.SUBJECT_ANSWER, object_type=OBJECT_TYPE,
                object_id=request.patient_id, purpose="droits de la personne",
                detail={"request": request.pk, "right": request.right, "delivery": "letter"})
    return text
