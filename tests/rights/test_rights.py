"""Data-subject requests: recorded with their one-month clock, answered with a French PDF
(read back with pdftotext) and a FHIR R4 Bundle (validated with fhir.resources), both
encrypted; erasure and objection answered by letter (issue 23, item 4)."""

import io
import json
import shutil
import subprocess
import zipfile
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from fhir.resources.R4B import get_fhir_model_class
from pyrage import x25519

from etanche.journal.models import Action, Entry
from etanche.patients import services as patients
from etanche.rights import services as rights
from etanche.rights.models import RightsSettings, Status
from etanche.vault import age, passphrase
from tests.conftest import require_system
from tests.orders.helpers import make_order, make_patient


@pytest.fixture
def subject(world):
    patient = make_patient(world.lab_a, world.frontdesk, phone="0639980012",
                           email="maelle.kergoat@example.org")
    order = make_order(world.lab_a, world.frontdesk, patient)
    patients.get_patient(world.lab_a, world.biologist, patient.pk, "accueil")
    return patient, order


def test_the_deadline_is_one_month_after_receipt():
    assert rights.due_date(date(2026, 1, 15)) == date(2026, 2, 15)
    assert rights.due_date(date(2026, 1, 31)) == date(2026, 2, 28)
    assert rights.due_date(date(2026, 12, 31)) == date(2027, 1, 31)


def test_a_request_is_recorded_checked_and_journaled(world, subject):
    patient, _ = subject
    with pytest.raises(ValidationError) as caught:
        rights.record_request(world.lab_a, world.dpo, patient.pk, "nope", identity_check="")
    assert set(caught.value.message_dict) == {"right", "identity_check"}
    with pytest.raises(ValidationError):
        rights.record_request(world.lab_b, world.dpo, patient.pk, "access",
                              identity_check="CNI")
    req = rights.record_request(world.lab_a, world.dpo, patient.pk, "access",
                                identity_check="CNI présentée au guichet",
                                received_on=date(2026, 1, 31))
    assert req.due_on == date(2026, 2, 28) and req.status == Status.OPEN
    assert rights.held_patient_ids(world.lab_a) == {patient.pk}
    assert b"CNI" not in bytes(req.sealed)
    entry = Entry.objects.get(action=Action.SUBJECT_REQUEST)
    assert entry.object_id == str(patient.pk) and "CNI" not in entry.detail


def _unpack(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _pdftotext(pdf: bytes) -> str:
    require_system(shutil.which("pdftotext") is not None, "poppler-utils is not installed")
    return subprocess.run([shutil.which("pdftotext"), "-layout", "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode()


def test_the_access_answer_holds_identity_requests_and_who_saw_the_record(world, subject):
    patient, order = subject
    req = rights.record_request(world.lab_a, world.dpo, patient.pk, "access",
                                identity_check="CNI")
    identity = x25519.Identity.generate()
    answer = rights.answer_access(world.lab_a, world.dpo, req,
                                  recipient=str(identity.to_public()))
    assert answer.passphrase is None and answer.data.startswith(b"age-encryption.org")
    files = _unpack(age.decrypt_with(answer.data, [identity]))
    text = _pdftotext(files["reponse.pdf"])
    assert "Réponse à votre demande d'accès" in text

    assert "KERGOAT" in text.upper() and "maelle.kergoat@example.org" in text
    assert order.number in text
    # Who saw it: the biologist's read, by role and initials (not the full name).
    assert "Biologiste S.B." in text.replace(". ", ".") and "Bernard" not in text
    assert "consultation" in text and "accueil" in text
    bundle = json.loads(files["dossier-fhir.json"])
    assert bundle["type"] == "collection"
    get_fhir_model_class("Bundle").model_validate(bundle)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "ServiceRequest", "Specimen"} <= kinds
    # Subject access carries no canary: one Patient only (issue 24.3).
    assert sum(e["resource"]["resourceType"] == "Patient" for e in bundle["entry"]) == 1
    req.refresh_from_db()
    assert req.status == Status.ANSWERED
    assert rights.held_patient_ids(world.lab_a) == set()
    answered = Entry.objects.get(action=Action.SUBJECT_ANSWER)
    assert json.loads(answered.detail)["delivery"] == "age-key"


def test_without_an_age_key_the_answer_opens_with_a_separate_passphrase(world, subject):
    patient, _ = subject
    RightsSettings.objects.create(lab=world.lab_a, staff_full_names=True)
    req = rights.record_request(world.lab_a, world.dpo, patient.pk, "portability",
                                identity_check="Passeport")
    answer = rights.answer_access(world.lab_a, world.dpo, req)
    assert answer.passphrase and answer.passphrase not in answer.data.decode("latin-1")
    files = _unpack(passphrase.decrypt(answer.data, answer.passphrase))
    assert "Sophie Bernard" in _pdftotext(files["reponse.pdf"])


def test_erasure_and_objection_get_the_letter_with_its_legal_basis(world, subject):
    patient, _ = subject
    req = rights.record_request(world.lab_a, world.dpo, patient.pk, "erasure",
                                identity_check="CNI")
    text = rights.answer_with_letter(world.lab_a, world.dpo, req)
    assert "art. 17" in text and "obligation légale" in text
    with pytest.raises(rights.RightsError):
        rights.answer_access(world.lab_a, world.dpo, req)
