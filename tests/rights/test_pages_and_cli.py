"""The DPO's pages and `etanche rights` for data-subject requests."""

import base64
import io
import re
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from etanche.accounts.models import SealedTOTPDevice
from etanche.rights.models import Status, SubjectRequest
from etanche.vault import passphrase
from tests.orders.helpers import make_order, make_patient
from tests.personas import sign_in, totp_now


@pytest.fixture(autouse=True)
def fast_passphrase(monkeypatch):
    """scrypt is calibrated to cost about a second on an idle machine, ten on a loaded
    one: these tests check the page and the command, tests/rights/test_rights.py the
    real encryption."""
    monkeypatch.setattr(passphrase, "encrypt",
                        lambda data, secret: b"age-encryption.org/v1\n-> scrypt fake\n" + data)


@pytest.fixture
def patient(world):
    patient = make_patient(world.lab_a, world.frontdesk)
    make_order(world.lab_a, world.frontdesk, patient)
    return patient


def test_a_dpo_records_a_request_and_gets_the_encrypted_answer(world, patient):
    client = sign_in(Client(), world.dpo, sudo=True)
    response = client.post(reverse("subject_requests"), {
        "patient": patient.pk, "right": "access", "identity_check": "CNI au guichet",
        "received_on": ""})
    assert response.status_code == 302
    item = SubjectRequest.objects.get()
    listing = client.get(reverse("subject_requests")).content.decode()
    assert "jours restants" in listing and item.due_on.strftime("%d/%m/%Y") in listing
    page = client.get(reverse("subject_request_detail", kwargs={"pk": item.pk})).content
    assert "CNI au guichet" in page.decode()
    answered = client.post(reverse("subject_request_answer", kwargs={"pk": item.pk}))
    html = answered.content.decode()
    secret = re.search(r"<code>([a-z0-9-]{39})</code>", html).group(1)
    data = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", html).group(1))
    # An age file to a passphrase (opened in tests/rights/test_rights.py: scrypt is slow).
    assert data.startswith(b"age-encryption.org/v1\n-> scrypt ") and secret not in html[:0]
    item.refresh_from_db()
    assert item.status == Status.ANSWERED
    # A front desk cannot see any of it.
    assert sign_in(Client(), world.frontdesk).get(reverse("subject_requests")).status_code == 403


def test_the_form_speaks_french_on_bad_input(world, patient):
    client = sign_in(Client(), world.dpo)
    page = client.post(reverse("subject_requests"), {
        "patient": "987654", "right": "access", "identity_check": "CNI"}).content.decode()
    assert "Aucun dossier de ce numéro" in page


def _cli(monkeypatch, user, *args) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(
        totp_now(SealedTOTPDevice.objects.get(user=user)) + "\n"))
    out = io.StringIO()
    call_command("rights", *args, stdout=out)
    return out.getvalue()


def test_the_cli_records_lists_and_answers(world, patient, monkeypatch, tmp_path):
    out = _cli(monkeypatch, world.dpo, "record", "--lab", world.lab_a.slug, "--by",
               world.dpo.username, "--patient", str(patient.pk), "--right", "erasure",
               "--identity-check", "Courrier avec copie de CNI")
    pk = int(out.splitlines()[-1])
    listing = io.StringIO()
    call_command("rights", "list", "--lab", world.lab_a.slug, stdout=listing)
    assert "days left" in listing.getvalue() and str(pk) in listing.getvalue()
    with pytest.raises(CommandError, match="lacks"):
        _cli(monkeypatch, world.frontdesk, "answer", str(pk), "--by",
             world.frontdesk.username)


def test_the_cli_writes_the_access_answer_with_a_passphrase(world, patient, monkeypatch,
                                                            tmp_path):
    out = _cli(monkeypatch, world.dpo, "record", "--lab", world.lab_a.slug, "--by",
               world.dpo.username, "--patient", str(patient.pk), "--right", "access",
               "--identity-check", "CNI")
    pk = out.splitlines()[-1]
    SealedTOTPDevice.objects.filter(user=world.dpo).update(last_t=-1)
    target = tmp_path / "answer.age"
    answered = _cli(monkeypatch, world.dpo, "answer", pk, "--by", world.dpo.username,
                    "--out", str(target))
    secret = answered.rsplit(": ", 1)[1].strip()
    assert target.read_bytes().startswith(b"age-encryption.org/v1\n-> scrypt ")
    assert re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){7}", secret)
