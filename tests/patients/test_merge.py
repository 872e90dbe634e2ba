"""Merging two records of one person: the survivor stays, the other id redirects."""

import json
from datetime import date

import pytest

from etanche.journal.models import Action, Entry
from etanche.patients import services as patients
from etanche.patients.models import PatientIndex
from tests.patients.people import person


@pytest.fixture
def pair(world):
    survivor = patients.register_patient(world.lab_a, None, person()).id
    # The same person registered again without NIR and with a typo in her name.
    duplicate = patients.register_patient(world.lab_a, None, person(
        birth_name="QUERGOAT", serial=None, phone="0639980055"), not_duplicate=True).id
    return survivor, duplicate


def test_it_redirects_the_merged_id_to_the_survivor(world, pair):
    survivor, merged = pair
    patients.merge_patients(world.lab_a, world.biologist, survivor, merged)
    record = patients.get_patient(world.lab_a, world.frontdesk, merged, "accueil")
    assert (record.id, record.redirected_from) == (survivor, merged)
    assert record.fields["birth_name"] == "KERGOAT"
    assert patients.get_patient(world.lab_a, None, survivor).merged_records == [merged]
    read = Entry.objects.filter(action=Action.READ).order_by("seq").first()
    assert read.object_id == str(survivor)
    assert json.loads(read.detail) == {"redirected_from": merged}


def test_it_journals_the_merge_on_both_ids(world, pair):
    survivor, merged = pair
    patients.merge_patients(world.lab_a, world.biologist, survivor, merged, purpose="doublon")
    entries = Entry.objects.filter(lab_id=world.lab_a.pk, action=Action.MERGE).order_by("seq")
    assert [(e.object_id, json.loads(e.detail)) for e in entries] == [
        (str(survivor), {"role": "survivor", "merged": merged, "fields": []}),
        (str(merged), {"role": "merged", "into": survivor}),
    ]
    assert {e.actor for e in entries} == {world.biologist.username}


def test_it_takes_the_merged_record_out_of_search_and_duplicates(world, pair):
    survivor, merged = pair
    patients.merge_patients(world.lab_a, None, survivor, merged)
    assert [s.id for s in patients.search(world.lab_a, None, phone="0639980055").results] == []
    assert [s.id for s in patients.search(world.lab_a, None, name="Kergoat",
                                          first_name="Anne", birth_date="1984-03-02")
            .results] == [survivor]
    assert [c.id for c in patients.find_duplicates(world.lab_a, person(
        birth_name="QUERGOAT", serial=None))] == [survivor]
    assert not PatientIndex.objects.filter(patient_id=merged).exists()


def test_it_follows_chains_of_merges_and_refuses_bad_merges(world, pair):
    survivor, merged = pair
    third = patients.register_patient(world.lab_a, None, person(
        birth_name="DUPONT", first_names=["Luc"], sex="M", birth_date=date(1950, 1, 1),
        serial=3, phone="0639980003")).id
    patients.merge_patients(world.lab_a, None, survivor, merged)
    patients.merge_patients(world.lab_a, None, third, survivor)
    assert patients.get_patient(world.lab_a, None, merged).id == third
    with pytest.raises(patients.PatientError, match="already merged"):
        patients.merge_patients(world.lab_a, None, third, merged)
    with pytest.raises(patients.PatientError, match="itself"):
        patients.merge_patients(world.lab_a, None, third, third)
    with pytest.raises(patients.PatientError, match="merged into"):
        patients.update_patient(world.lab_a, None, merged, {"notes": "x"})


def test_it_never_merges_across_labs(world, pair):
    survivor, _ = pair
    other = patients.register_patient(world.lab_b, None, person()).id
    with pytest.raises(patients.PatientNotFound):
        patients.merge_patients(world.lab_a, None, survivor, other)
    with pytest.raises(patients.PatientNotFound):
        patients.merge_patients(world.lab_b, None, other, survivor)
    assert not Entry.objects.filter(action=Action.MERGE).exists()


def test_the_duplicate_check_reads_live_records_of_the_lab_only(world, pair):
    """_candidate_rows: merged records, other labs and the excluded id left out."""
    survivor, merged = pair
    other = patients.register_patient(world.lab_b, None, person()).id
    patients.merge_patients(world.lab_a, None, survivor, merged)
    twin = patients.register_patient(world.lab_a, None, person(first_names=["Jeanne"],
                                                                serial=None),
                                     not_duplicate=True).id
    columns = patients._keyed(world.lab_a, patients.intake.clean(person()).envelope)[0]
    for exclude in (None, twin):
        rows = patients._candidate_rows(world.lab_a, columns, exclude=exclude)
        assert {pk for pk, *_ in rows} == ({survivor, twin} - {exclude})
        assert {lab for _, lab, *_ in rows} == {world.lab_a.pk}
    assert other not in {pk for pk, *_ in rows}
    assert patients._candidate_rows(world.lab_a, dict.fromkeys(columns)) is None
