"""What a patient row keeps in clear: ids, lab, timestamps, redirect, blind-index integers."""

import datetime

import pytest

from etanche.patients import services as patients
from etanche.patients.models import Patient, PatientIndex
from etanche.vault import rotation
from etanche.vault import services as vault
from etanche.vault.models import sealed_models
from tests.patients.people import person
from tests.personas import make_lab


@pytest.fixture
def lab(db):
    return make_lab("models-lab")


def test_it_keeps_every_identity_field_in_the_sealed_envelope(lab):
    data = person(used_name="Le Gall", phones=["0261910007"], identity_status="VALI",
                  id_document={"kind": "cni", "checked_on": "2025-06-01"})
    pid = patients.register_patient(lab, None, data).id
    row = Patient.objects.filter(pk=pid).values().get()
    for column, value in row.items():
        if column == "sealed":
            token = bytes(value)
            for text in ("KERGOAT", "Gall", data["nir"], "39981234", "anne.kergoat",
                         "Glycines", "Tilleuls", "Imaginaire", "aiguilles", "VALI", "cni"):
                assert text.encode() not in token
        else:
            assert value is None or isinstance(value, int | datetime.datetime), column
    _, bits = vault.index_sizes(lab)
    for side in PatientIndex.objects.filter(patient_id=pid).values("name", "value"):
        assert side["name"] in ("surname", "phone") and 0 <= side["value"] < 2 ** bits[side["name"]]
    # Surnames (birth + used) and two phones.
    assert PatientIndex.objects.filter(patient_id=pid).count() == 4


def test_it_indexes_each_blind_index_column_per_lab():
    declared = {tuple(index.fields) for index in Patient._meta.indexes}
    for column in ("nir", "ins", "birth_name_dob", "used_name_dob", "phonetic_dob", "email"):
        assert ("lab", f"{column}_index") in declared
    assert ("lab", "name", "value") in {tuple(i.fields) for i in PatientIndex._meta.indexes}


def test_key_rotation_reseals_patients_and_search_still_works(lab):
    assert Patient in sealed_models()
    pid = patients.register_patient(lab, None, person()).id
    before = Patient.objects.get(pk=pid)
    rotation.rotate_lab(lab)
    after = Patient.objects.get(pk=pid)
    assert after.key_version == before.key_version + 1 and after.sealed != before.sealed
    assert after.get_sealed() == before.get_sealed()
    assert [s.id for s in patients.search(lab, None, name="Kergoat").results] == [pid]
