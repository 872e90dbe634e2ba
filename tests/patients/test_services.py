"""Registering, reading and updating patients: checks, French messages, duplicates, journal."""

import json
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from etanche.journal.models import Action, Entry
from etanche.patients import intake
from etanche.patients import services as patients
from etanche.patients.models import Patient, PatientIndex
from etanche.patients.nir import INS_OID_DEMO
from tests.patients.people import person


def _errors(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


def _entries(lab, action):
    return list(Entry.objects.filter(lab_id=lab.pk, action=action).order_by("seq"))


def test_it_registers_a_patient_and_reads_every_field_back(world):
    data = person(used_name="Le Gall", used_first_name="Annie",
                  phones=["02 61 91 00 07"],
                  id_document={"kind": "cni", "checked_on": "2025-06-01"},
                  identity_status="VALI")
    created = patients.register_patient(world.lab_a, world.frontdesk, data)
    record = patients.get_patient(world.lab_a, world.frontdesk, created.id, "accueil")
    f = record.fields
    assert set(f) == set(intake.ENVELOPE_FIELDS)
    assert (f["birth_name"], f["first_names"], f["used_name"], f["used_first_name"]) == (
        "KERGOAT", ["Anne", "Maëlle"], "LE GALL", "Annie")
    assert f["ins"] == data["nir"] and f["ins_oid"] == data["ins_oid"]
    assert f["birthplace_label"] == "Brest"
    assert f["phones"] == ["+33639981234", "+33261910007"]
    assert f["identity_status"] == "VALI"
    assert f["id_document"] == {"kind": "cni", "checked_on": "2025-06-01",
                                "checked_by": f"user#{world.frontdesk.pk}"}
    for key in ("street", "postal_code", "city", "amo_regime", "amo_fund", "amo_centre",
                "amc_insurer", "amc_contract", "physician_name", "physician_rpps", "notes"):
        assert f[key] == data[key]
    assert f["blood_group"] == "O-"
    [created_entry] = _entries(world.lab_a, Action.CREATE)[-1:]
    assert created_entry.object_type == "patient" and created_entry.object_id == str(created.id)
    [read] = _entries(world.lab_a, Action.READ)
    assert (read.object_id, read.purpose, read.actor) == (
        str(created.id), "accueil", world.frontdesk.username)


def test_it_explains_each_faulty_field_in_french(world):
    bad = person(birth_name="K3rgoat", first_names=["Anne", "4nne"], sex="X", email="anne@",
                 phone="12", physician_rpps="123", blood_group="C+", postal_code="2920",
                 amo_regime="1", colour="bleu", birth_date=date(1984, 3, 2))
    bad.update(birthplace_code="99999", birth_date="2999-01-01")
    errors = _errors(lambda: patients.register_patient(world.lab_a, None, bad))
    assert errors["birth_name"] == [
        "Le nom de naissance ne peut contenir que des lettres, des espaces, des traits "
        "d'union et des apostrophes."]
    assert errors["first_names"] == [
        "Le prénom n° 2 ne peut contenir que des lettres, des espaces, des traits d'union et "
        "des apostrophes."]
    assert errors["birth_date"] == ["La date de naissance est dans le futur."]
    assert errors["sex"] == ["Le sexe doit être M ou F."]
    assert errors["birthplace_code"] == [
        "Le code pays du lieu de naissance est inconnu de la liste INSEE des pays."]
    assert errors["email"] == ["L'adresse électronique n'est pas valide."]
    assert "téléphone" in errors["phone"][0]
    assert errors["physician_rpps"] == ["Le numéro RPPS doit comporter 11 chiffres."]
    assert "Groupe sanguin" in errors["blood_group"][0]
    assert errors["postal_code"] == ["Le code postal doit comporter 5 chiffres."]
    assert errors["amo_regime"] == [
        "Le code du régime d'assurance maladie doit comporter 2 chiffres."]
    assert errors["colour"] == ["Champ inconnu."]
    assert Patient.objects.count() == 0


def test_it_requires_the_ins_traits(world):
    errors = _errors(lambda: patients.register_patient(world.lab_a, None, {"email": "a@b.fr"}))
    for key in intake.REQUIRED:
        assert errors[key] == ["Ce champ est obligatoire."]


def test_it_checks_the_nir_against_the_traits(world):
    data = {**person(), "sex": "M"}  # the NIR was built for a woman
    errors = _errors(lambda: patients.register_patient(world.lab_a, None, data))
    assert errors["nir"] == ["Le premier chiffre du NIR ne correspond pas au sexe saisi."]
    data = person()
    data["nir"] = data["nir"][:13] + f"{(int(data['nir'][13:]) + 1) % 97:02d}"
    assert "clé du NIR" in _errors(lambda: patients.register_patient(world.lab_a, None, data))[
        "nir"][0]


def test_it_refuses_recup_and_qual_without_insi_and_vali_without_a_document(world):
    for target in ("RECUP", "QUAL"):
        errors = _errors(lambda t=target: patients.register_patient(
            world.lab_a, None, person(identity_status=t)))
        assert "aucune connexion INSi n'est configurée" in errors["identity_status"][0]
    errors = _errors(lambda: patients.register_patient(
        world.lab_a, None, person(identity_status="VALI")))
    assert errors["identity_status"] == [
        "Statut VALI impossible : aucun contrôle de pièce d'identité n'est enregistré."]
    errors = _errors(lambda: patients.register_patient(world.lab_a, None, person(
        identity_status="VALI", id_document={"kind": "carte_vitale", "checked_on": "2025-01-01"})))
    assert "haut niveau de confiance" in errors["id_document"][0]


def test_it_returns_warnings_it_cannot_settle(world):
    # Corsica before 1976: NIR department 20 with a 2A birthplace trait is consistent...
    data = person(birth_date=date(1950, 5, 5), birthplace="2A004", serial=None)
    data["nir"] = "2" + "50" + "05" + "20004" + "101"
    data["nir"] += f"{97 - int(data['nir']) % 97:02d}"
    created = patients.register_patient(world.lab_a, None, data)
    assert created.warnings == []
    # ...a commune code unknown to the 2026 list is a warning, not a refusal.
    other = person(birth_name="MORVAN", birthplace="29999", serial=5, phone="0639981235",
                   email="m@example.org")
    assert patients.register_patient(world.lab_a, None, other).warnings


# --- duplicates -------------------------------------------------------------------------


def test_it_refuses_the_same_nir_even_when_told_it_is_another_person(world):
    """Issue 24.2: the "another person" tick once saved a second record with the same
    NIR. One NIR is one person: refused whatever the user states (SameNir)."""
    first = patients.register_patient(world.lab_a, None, person())
    same_nir = person(birth_name="DURAND", first_names=["Zoé"])
    for told in (False, True):
        with pytest.raises(patients.SameNir) as caught:
            patients.register_patient(world.lab_a, None, same_nir, not_duplicate=told)
        assert [(c.id, c.reasons) for c in caught.value.candidates] == [(first.id, ("nir",))]
        assert caught.value.exact_nir
        assert "duplicate" in str(caught.value) and "DURAND" not in str(caught.value)
    assert Patient.objects.filter(lab=world.lab_a).count() == 1
    # What was shown is journaled as a duplicates search, nothing was created.
    assert not Entry.objects.filter(action=Action.CREATE).exclude(
        object_id=str(first.id)).exists()


def test_the_same_nir_under_another_oid_is_still_the_same_nir(world):
    # The check reads a NIR's bucket through the ins index under every admitted OID.
    first = patients.register_patient(world.lab_a, None, person())
    same = person(birth_name="DURAND", first_names=["Zoé"], ins_oid=INS_OID_DEMO)
    with pytest.raises(patients.SameNir) as caught:
        patients.register_patient(world.lab_a, None, same, not_duplicate=True)
    assert [(c.id, c.reasons) for c in caught.value.candidates] == [(first.id, ("nir",))]


def test_a_record_only_in_the_nirs_bucket_is_not_unsealed(world, monkeypatch):
    """A truncated NIR index is shared by unrelated records (vault/indexes.py); one whose
    ins index is not the number's under any OID cannot hold the NIR: not opened."""
    bucket = patients.register_patient(world.lab_a, None, person(
        birth_name="LE GALL", first_names=["Yves"], sex="M", serial=202,
        birth_date=date(1950, 1, 1), phone="0639980003"))
    new = person(birth_name="DURAND", first_names=["Zoé"], serial=303, phone="0639980004")
    nir_index = patients._keyed(world.lab_a, intake.clean(new).envelope)[0]["nir"]
    Patient.objects.filter(pk=bucket.id).update(nir_index=nir_index)  # a collision
    opened = []
    real = Patient.open_rows.__func__

    def spy(cls, rows):
        rows = list(rows)
        opened.extend(row[0] for row in rows)
        return real(cls, rows)

    monkeypatch.setattr(Patient, "open_rows", classmethod(spy))
    assert patients.find_duplicates(world.lab_a, new) == []
    assert opened == []
    # Holding the same number (its ins index too), it is opened, and is the duplicate.
    mine = Patient.objects.get(pk=bucket.id)
    mine_env = mine.get_sealed()
    mine_env["ins"] = intake.clean(new).envelope["ins"]
    mine.set_sealed(mine_env)
    mine.ins_index = patients._keyed(world.lab_a, mine_env)[0]["ins"]
    mine.save()
    assert [(c.id, c.reasons) for c in patients.find_duplicates(world.lab_a, new)] == [
        (bucket.id, ("nir",))]
    assert opened == [bucket.id]


def test_the_insured_persons_nir_is_coverage_not_identity(world):
    """A child on a parent's card: the parent's NIR goes in insured_nir, where it is
    neither the child's INS nor a duplicate criterion."""
    parent = patients.register_patient(world.lab_a, None, person())
    child = person(birth_name="DURAND", first_names=["Zoé"], serial=None,
                   birth_date=date(2015, 6, 1), phone="0639980077",
                   insured_nir=person()["nir"])
    first = patients.register_patient(world.lab_a, None, child)
    second = patients.register_patient(world.lab_a, None, {
        **child, "first_names": ["Léa"], "birth_date": "2017-02-03"})
    record = patients.get_patient(world.lab_a, None, first.id)
    assert (record.fields["ins"], record.fields["insured_nir"]) == ("", person()["nir"])
    assert len({parent.id, first.id, second.id}) == 3
    with pytest.raises(ValidationError) as caught:
        patients.register_patient(world.lab_a, None, {**child, "insured_nir": "123"})
    assert "NIR de l'assuré" in caught.value.message_dict["insured_nir"][0]


def test_it_finds_the_same_birth_name_and_date_whatever_the_accents(world):
    first = patients.register_patient(world.lab_a, None, person(serial=None))
    twin = person(birth_name="Kèrgoat", first_names=["Yann"], sex="M", serial=None,
                  phone="0639980002")
    candidates = patients.find_duplicates(world.lab_a, twin)
    assert [(c.id, c.reasons) for c in candidates] == [(first.id, ("birth_name_dob",))]
    assert candidates[0].summary.first_names == ("Anne", "Maëlle")
    # Twins: the user states it is another person.
    assert patients.register_patient(world.lab_a, None, twin, not_duplicate=True).id


def test_it_finds_names_that_sound_alike_with_the_same_date(world):
    first = patients.register_patient(world.lab_a, None, person(serial=None))
    typo = person(birth_name="QUERGOAT", first_names=["Anne"], serial=None)
    [candidate] = patients.find_duplicates(world.lab_a, typo)
    assert (candidate.id, candidate.reasons) == (first.id, ("phonetic_dob",))
    other_day = person(birth_name="QUERGOAT", serial=None, birth_date=date(1984, 3, 3))
    assert patients.find_duplicates(world.lab_a, other_day) == []


def test_it_journals_the_duplicate_search_without_values(world):
    created = patients.register_patient(world.lab_a, None, person())
    patients.find_duplicates(world.lab_a, person(), user=world.frontdesk)
    entry = _entries(world.lab_a, Action.SEARCH)[-1]
    detail = json.loads(entry.detail)
    assert detail["criteria"] == ["duplicates"]
    # The ids shown, and nothing else but words: a random 63-bit id may well contain "1984".
    assert detail.get("shown") == [created.id]
    rest = json.dumps({key: value for key, value in detail.items() if key != "shown"})
    assert "KERGOAT" not in rest.upper() and "1984" not in rest


# --- update ---------------------------------------------------------------------------


def test_it_updates_fields_and_their_indexes(world):
    created = patients.register_patient(world.lab_a, None, person())
    patients.update_patient(world.lab_a, world.frontdesk, created.id,
                            {"phone": "06 39 98 55 55", "notes": ""})
    record = patients.get_patient(world.lab_a, None, created.id)
    assert record.fields["phones"] == ["+33639985555"]
    assert record.fields["notes"] == ""
    assert patients.search(world.lab_a, None, phone="0639985555").total == 1
    assert patients.search(world.lab_a, None, phone="0639981234").total == 0
    assert PatientIndex.objects.filter(patient_id=created.id, name="phone").count() == 1
    entry = _entries(world.lab_a, Action.UPDATE)[-1]
    assert entry.detail == '{"fields":["notes","phones"]}'


def test_it_validates_an_identity_then_drops_it_to_provisional_when_a_trait_changes(world):
    created = patients.register_patient(world.lab_a, None, person())
    patients.update_patient(world.lab_a, world.frontdesk, created.id, {
        "identity_status": "VALI", "id_document": {"kind": "passeport",
                                                   "checked_on": "2025-09-01"}})
    assert patients.get_patient(world.lab_a, None, created.id).fields["identity_status"] == "VALI"
    warnings = patients.update_patient(world.lab_a, world.frontdesk, created.id,
                                       {"first_names": ["Anne"]})
    fields = patients.get_patient(world.lab_a, None, created.id).fields
    assert fields["identity_status"] == "PROV" and fields["id_document"] is None
    assert "provisoire" in warnings[0]


def test_it_keeps_the_record_unchanged_when_an_update_is_refused(world):
    created = patients.register_patient(world.lab_a, None, person())
    before = bytes(Patient.objects.get(pk=created.id).sealed)
    errors = _errors(lambda: patients.update_patient(world.lab_a, None, created.id,
                                                     {"email": "nope", "sex": "M"}))
    assert set(errors) == {"email", "nir"}
    assert bytes(Patient.objects.get(pk=created.id).sealed) == before
    assert _entries(world.lab_a, Action.UPDATE) == []


