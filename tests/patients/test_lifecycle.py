"""A record through its life: corrected (versions kept), merged and un-merged, found by
a request number or a tube barcode; the same NIR never held by two records (issue 23
items 1-3, issue 24 item 2)."""

import io
import json
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from etanche.accounts.models import SealedTOTPDevice
from etanche.journal.models import Action, Entry
from etanche.orders import services as orders
from etanche.patients import services as patients
from etanche.patients.models import Patient, PatientVersion
from tests.orders.helpers import make_order
from tests.patients.people import person
from tests.personas import sign_in, totp_now

VALIDATED = {"identity_status": "VALI", "id_document": {"kind": "cni",
                                                        "checked_on": "2026-01-10"}}


def _register(lab, user, **kwargs):
    return patients.register_patient(lab, user, person(**kwargs, **VALIDATED)).id


def _as(user):
    return sign_in(Client(), user)


# --- correction -----------------------------------------------------------------------------

def test_a_birth_name_correction_goes_back_to_prov_and_keeps_the_old_values(world):
    pid = _register(world.lab_a, world.frontdesk)
    warnings = patients.update_patient(world.lab_a, world.frontdesk, pid,
                                       {"birth_name": "KERGOAT-LE GALL"},
                                       reason="Erreur de saisie, vu sur la CNI")
    assert any("provisoire" in w for w in warnings)
    fields = patients.get_patient(world.lab_a, None, pid).fields
    assert (fields["birth_name"], fields["identity_status"], fields["id_document"]) == (
        "KERGOAT-LE GALL", "PROV", None)
    (version,) = patients.versions(world.lab_a, pid)
    assert version.kind == PatientVersion.CORRECTION
    assert version.created_by == world.frontdesk.username
    assert version.reason == "Erreur de saisie, vu sur la CNI"
    assert ("birth_name", "KERGOAT") in version.changes
    assert ("identity_status", "VALI") in version.changes
    # Sealed: the old name is nowhere in clear in the version row.
    row = PatientVersion.objects.get(pk=version.id)
    assert b"KERGOAT" not in bytes(row.sealed)
    entry = Entry.objects.filter(action=Action.UPDATE, object_id=str(pid)).get()
    assert "birth_name" in json.loads(entry.detail)["fields"]
    assert "KERGOAT" not in entry.detail


def test_a_contact_change_keeps_the_status(world):
    pid = _register(world.lab_a, world.frontdesk)
    assert patients.update_patient(world.lab_a, None, pid, {"email": ""}) == []
    assert patients.get_patient(world.lab_a, None, pid).fields["identity_status"] == "VALI"


def test_a_correction_is_checked_like_a_registration(world):
    pid = _register(world.lab_a, None)
    other = patients.register_patient(world.lab_a, None, person(
        birth_name="DURAND", first_names=["Zoé"], serial=None, phone="0639980077")).id
    with pytest.raises(patients.ValidationError) as caught:
        patients.update_patient(world.lab_a, None, other, {"postal_code": "12"})
    assert "5 chiffres" in caught.value.message_dict["postal_code"][0]
    # Giving DURAND Kergoat's NIR: refused even when told it is another person.
    for told in (False, True):
        with pytest.raises(patients.SameNir) as same:
            patients.update_patient(world.lab_a, None, other, {
                "birth_name": "KERGOAT", "first_names": ["Anne", "Maëlle"],
                "nir": person()["nir"], "ins_oid": person()["ins_oid"]}, not_duplicate=told)
        assert [c.id for c in same.value.candidates] == [pid]
    # Renaming her Kergoat without NIR: a likely duplicate, allowed once stated.
    change = {"birth_name": "KERGOAT", "first_names": ["Anne"]}
    with pytest.raises(patients.DuplicatePatient):
        patients.update_patient(world.lab_a, None, other, change)
    patients.update_patient(world.lab_a, None, other, change, not_duplicate=True)
    assert len(patients.versions(world.lab_a, other)) == 1


def test_the_correction_page_corrects_and_shows_the_versions(world):
    pid = _register(world.lab_a, world.frontdesk)
    client = _as(world.frontdesk)
    url = reverse("patient_correct", kwargs={"pk": pid})
    page = client.get(url).content.decode()
    assert 'value="KERGOAT"' in page and "Raison de la correction" in page
    form = {"birth_name": "KERGOAT-LE GALL", "first_names": "Anne Maëlle",
            "birth_date": "1984-03-02", "sex": "F", "birthplace_code": "29019",
            "nir": person()["nir"], "phone": "0639981234", "reason": "Nom composé oublié"}
    missing = client.post(url, {**form, "reason": ""})
    assert missing.status_code == 200 and "Ce champ est obligatoire" in missing.content.decode()
    response = client.post(url, form)
    assert response.status_code == 302
    detail = client.get(response["Location"]).content.decode()
    assert "KERGOAT-LE GALL" in detail and "Identité provisoire" in detail
    assert "Versions précédentes" in detail and "Nom composé oublié" in detail
    assert reverse("patient_correct", kwargs={"pk": pid}) in detail


# --- the same NIR twice (issue 24.2) -----------------------------------------------------------

def test_the_old_bypass_no_longer_saves_a_second_record_with_the_same_nir(world):
    """Replays issue 24.2: register, get the duplicate warning, tick "J'ai vérifié : il
    s'agit d'une autre personne", save again. It used to create a second VALI record."""
    first = _register(world.lab_a, world.frontdesk)
    client = _as(world.frontdesk)
    form = {"birth_name": "DURAND", "first_names": "Zoé", "birth_date": "1984-03-02",
            "sex": "F", "birthplace_code": "29019", "nir": person()["nir"],
            "id_document": "cni"}
    for data in (form, {**form, "not_duplicate": "on"}):
        response = client.post(reverse("patient_create"), data)
        page = response.content.decode()
        assert response.status_code == 200
        assert "Ce NIR appartient déjà à un dossier du laboratoire" in page
        assert reverse("patient_merge", kwargs={"pk": first}) in page
        assert "J'ai vérifié" not in page  # no tick offered: nothing to override
    assert Patient.objects.for_lab(world.lab_a).count() == 1


# --- merge ----------------------------------------------------------------------------------

@pytest.fixture
def pair(world):
    keep = _register(world.lab_a, world.frontdesk)
    other = patients.register_patient(world.lab_a, world.frontdesk, person(
        birth_name="QUERGOAT", serial=None, phone="0639980055",
        email="a.kergoat@example.org"), not_duplicate=True).id
    orders_ = [make_order(world.lab_a, world.frontdesk, Patient.objects.get(pk=pid))
               for pid in (keep, other)]
    return keep, other, orders_


def test_a_merge_takes_the_chosen_fields_moves_requests_and_undoes(world, pair):
    keep, other, (order_keep, order_other) = pair
    patients.merge_patients(world.lab_a, world.biologist, keep, other,
                            choices={"email": patients.OTHER, "phones": patients.KEEP},
                            reason="Doublon vu au guichet")
    kept = patients.get_patient(world.lab_a, None, keep).fields
    assert kept["email"] == "a.kergoat@example.org" and kept["identity_status"] == "VALI"
    survivor = Patient.objects.get(pk=keep)
    assert {o.pk for o in orders.orders_for_patient(world.lab_a, survivor)} == {
        order_keep.pk, order_other.pk}
    assert patients.get_patient(world.lab_a, None, other).id == keep  # the old id redirects
    assert patients.merges_undoable(world.lab_a, keep) == [other]
    patients.unmerge_patients(world.lab_a, world.biologist, keep, other)
    assert patients.get_patient(world.lab_a, None, keep).fields["email"] == (
        "anne.kergoat@example.org")
    back = patients.get_patient(world.lab_a, None, other)
    assert back.id == other and back.fields["birth_name"] == "QUERGOAT"
    assert [o.pk for o in orders.orders_for_patient(world.lab_a, survivor)] == [order_keep.pk]
    assert [s.id for s in patients.search(world.lab_a, None, phone="0639980055").results] == [
        other]
    entries = Entry.objects.filter(action__in=[Action.MERGE, Action.UNMERGE]).order_by("seq")
    assert [(e.action, e.object_id) for e in entries] == [
        (Action.MERGE, str(keep)), (Action.MERGE, str(other)),
        (Action.UNMERGE, str(keep)), (Action.UNMERGE, str(other))]
    assert "QUERGOAT" not in "".join(e.detail or "" for e in entries)
    with pytest.raises(patients.PatientError):
        patients.unmerge_patients(world.lab_a, None, keep, other)


def test_taking_an_ins_trait_from_the_other_record_goes_back_to_prov(world, pair):
    keep, other, _ = pair
    patients.merge_patients(world.lab_a, None, keep, other,
                            choices={"birth_name": patients.OTHER})
    fields = patients.get_patient(world.lab_a, None, keep).fields
    assert (fields["birth_name"], fields["identity_status"]) == ("QUERGOAT", "PROV")
    with pytest.raises(patients.ValidationError):
        patients.merge_patients(world.lab_a, None, other, keep, choices={"nope": "other"})


def test_an_unmerge_after_30_days_is_refused(world, pair):
    keep, other, _ = pair
    patients.merge_patients(world.lab_a, None, keep, other)
    later = timezone.now() + timedelta(days=patients.UNMERGE_DAYS, minutes=1)
    with pytest.raises(patients.PatientError, match="30 jours"):
        patients.unmerge_patients(world.lab_a, None, keep, other, now=later)
    assert patients.merges_undoable(world.lab_a, keep, now=later) == []


def test_the_merge_page_shows_both_side_by_side_and_merges(world, pair):
    keep, other, _ = pair
    client = _as(world.biologist)
    url = reverse("patient_merge", kwargs={"pk": keep})
    page = client.get(url, {"other": other}).content.decode()
    assert "KERGOAT" in page and "QUERGOAT" in page and "(diffère)" in page
    assert 'name="keep_email" value="other"' in page
    response = client.post(url, {"other": other, "confirm": "1", "keep_email": "other",
                                 "reason": "Doublon"})
    assert response.status_code == 302
    detail = client.get(response["Location"]).content.decode()
    assert "Annuler la fusion" in detail and "fusion" in detail
    assert client.get(reverse("patient_detail", kwargs={"pk": other}))["Location"] == (
        reverse("patient_detail", kwargs={"pk": keep}))
    undo = client.post(reverse("patient_unmerge", kwargs={"pk": keep}), {"other": other})
    assert undo.status_code == 302
    assert Patient.objects.get(pk=other).merged_into_id is None
    # A secretary may correct but not merge.
    assert _as(world.frontdesk).get(url).status_code == 403


# --- search by request number and tube barcode -------------------------------------------------

def test_a_scanned_barcode_or_a_number_goes_straight_to_the_request(world, pair):
    _, _, (order, _) = pair
    client = _as(world.frontdesk)
    target = reverse("order_detail", kwargs={"pk": order.pk})
    barcode = order.specimens.first().barcode
    for data in ({"name": barcode}, {"number": order.number},
                 {"number": order.number.replace("-", "")}, {"name": f" {barcode}\n"}):
        response = client.post(reverse("patient_search"), data)
        assert (response.status_code, response["Location"]) == (302, target), data
    missing = client.post(reverse("patient_search"), {"number": "1999-000001"})
    assert "Aucune demande du laboratoire" in missing.content.decode()
    # Another lab's request is not found from lab B.
    other_lab = _as(world.in_lab_b["frontdesk"]).post(reverse("patient_search"),
                                                       {"number": order.number})
    assert other_lab.status_code == 200
    # The DPO searches patients but reads no request.
    dpo = _as(world.dpo).post(reverse("patient_search"), {"number": order.number})
    assert "ne donne pas accès aux demandes" in dpo.content.decode()


# --- CLI -------------------------------------------------------------------------------------

def _code(user) -> str:
    return totp_now(SealedTOTPDevice.objects.get(user=user))


def _cli(monkeypatch, stdin: str, *args) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("patients", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_cli_corrects_and_merges_as_a_named_person(world, pair, monkeypatch):
    keep, other, _ = pair
    slug = world.lab_a.slug
    change = json.dumps({"email": "anne.k@example.org"})
    out = _cli(monkeypatch, f"{_code(world.frontdesk)}\n{change}", "update", str(keep),
               "--lab", slug, "--by", world.frontdesk.username, "--reason", "Nouvelle adresse")
    assert "corrected" in out
    assert patients.versions(world.lab_a, keep)[0].reason == "Nouvelle adresse"
    with pytest.raises(CommandError, match="TOTP"):
        _cli(monkeypatch, change, "update", str(keep), "--lab", slug,
             "--by", world.frontdesk.username)
    with pytest.raises(CommandError, match="lacks the patient.merge"):
        _cli(monkeypatch, f"{_code(world.dpo)}\n", "merge", str(keep), str(other),
             "--lab", slug, "--by", world.dpo.username)
    _cli(monkeypatch, f"{_code(world.biologist)}\n", "merge", str(keep), str(other),
         "--lab", slug, "--by", world.biologist.username, "--take", "phones")
    assert Patient.objects.get(pk=other).merged_into_id == keep
    merge = Entry.objects.filter(action=Action.MERGE, object_id=str(keep)).get()
    assert merge.user_id == world.biologist.pk




def test_a_merge_keeps_the_nir_known_from_the_other_record(world):
    without = patients.register_patient(world.lab_a, None, person(serial=None)).id
    holder = patients.register_patient(world.lab_a, None, person(
        first_names=["Anne"], phone="0639980055"), not_duplicate=True).id
    patients.merge_patients(world.lab_a, None, without, holder)
    assert patients.get_patient(world.lab_a, None, without).fields["ins"] == person()["nir"]
    with pytest.raises(patients.SameNir):
        patients.register_patient(world.lab_a, None, person(first_names=["Zoé"]),
                                  not_duplicate=True)
