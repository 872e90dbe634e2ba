"""Labs: creation validates FINESS and provisions keys; shredding destroys them."""

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from etanche.journal.models import Entry
from etanche.labs.models import Lab
from etanche.ops.labs import LabError, create_lab, shred_lab, validate_finess
from etanche.vault import services as vault
from etanche.vault.models import LabKeyset, ShreddedLab
from tests.sealedapp.models import Person

IDENTITY = {"birth_name": "TESTARD", "birth_date": "1990-05-17", "nir": "190059912345642"}


@settings(max_examples=200)
@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_it_accepts_exactly_the_finess_numbers_with_a_right_luhn_key(body):
    good = body + luhn.calc_check_digit(body)
    assert validate_finess(good) == good
    wrong = body + str((int(luhn.calc_check_digit(body)) + 1) % 10)
    with pytest.raises(LabError):
        validate_finess(wrong)


@pytest.mark.parametrize("bad", ["", "12345678", "1234567890", "99000000A", "2A0000001"])
def test_it_refuses_malformed_finess(bad):
    with pytest.raises(LabError):
        validate_finess(bad)


def test_it_creates_a_lab_with_its_keys_and_a_journal_entry(db):
    lab = create_lab("lab-c", "Laboratoire C", "990000002")
    assert set(LabKeyset.objects.filter(lab=lab).values_list("kind", "version")) == {
        ("aead", 1), ("prf", 1)
    }
    assert Entry.objects.filter(action="lab-create", object_id=str(lab.pk)).exists()
    assert vault.provision_lab(lab) is False  # idempotent


def test_it_refuses_duplicates_and_bad_slugs_without_half_writing(db):
    create_lab("lab-c", "Laboratoire C", "990000002")
    for args in (("lab-c", "Autre", "990000010"), ("lab-d", "Autre", "990000002"),
                 ("Lab D!", "Autre", "990000010"), ("lab-e", "", "990000010")):
        with pytest.raises(LabError):
            create_lab(*args)
    assert Lab.objects.count() == 1


def test_it_creates_and_lists_labs_from_the_cli(db, capsys):
    call_command("labs", "create", "lab-c", "--name", "Laboratoire C", "--finess", "990000002")
    call_command("labs", "list")
    assert "lab-c\t990000002" in capsys.readouterr().out
    with pytest.raises(CommandError, match="Luhn"):
        call_command("labs", "create", "lab-d", "--name", "D", "--finess", "990000003")


def _sealed_person(lab):
    person = Person(lab=lab)
    person.set_sealed(IDENTITY)
    person.save()
    return person


def test_it_shreds_a_lab_so_its_data_cannot_be_unsealed(db):
    lab = create_lab("lab-c", "Laboratoire C", "990000002")
    other = create_lab("lab-d", "Laboratoire D", "990000010")
    person, kept = _sealed_person(lab), _sealed_person(other)

    shred_lab("lab-c", confirm="lab-c")

    assert not LabKeyset.objects.filter(lab=lab).exists()
    assert ShreddedLab.objects.filter(lab=lab).exists()
    with pytest.raises(vault.LabKeysMissing, match="shredded"):
        Person.objects.get(pk=person.pk).get_sealed()
    with pytest.raises(vault.LabKeysMissing):
        vault.blind_index(lab, "nir", IDENTITY["nir"])
    with pytest.raises(vault.RefusedOverExistingData):
        vault.provision_lab(lab)  # no new key over shredded data
    assert Person.objects.get(pk=kept.pk).get_sealed() == IDENTITY
    assert Entry.objects.filter(action="key-shred", object_id=str(lab.pk)).count() >= 1


def test_it_refuses_to_shred_without_the_matching_confirmation(db):
    lab = create_lab("lab-c", "Laboratoire C", "990000002")
    with pytest.raises(LabError, match="--confirm lab-c"):
        shred_lab("lab-c", confirm="lab-d")
    assert LabKeyset.objects.filter(lab=lab).count() == 2


def test_it_refuses_to_provision_keys_over_sealed_rows_whose_keys_vanished(db):
    lab = create_lab("lab-c", "Laboratoire C", "990000002")
    _sealed_person(lab)
    LabKeyset.objects.filter(lab=lab).delete()
    with pytest.raises(vault.RefusedOverExistingData):
        vault.provision_lab(lab)
