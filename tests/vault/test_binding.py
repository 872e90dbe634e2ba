"""Issue 16, item 9, in the vault: tokens bound to clear columns and to the row's revision."""

import struct

import pytest

from etanche.vault import keyring
from etanche.vault import services as vault
from etanche.vault.rotation import rotate_lab
from tests.sealedapp.models import Note, Person

from .test_sealing import SYNTHETIC


def _note(lab, topic="bilan") -> Note:
    note = Note(lab=lab, topic=topic)
    note.set_sealed({"text": "Patiente synthétique sous anticoagulant"})
    note.save()
    return note


def test_the_bound_values_are_part_of_the_associated_data(lab):
    token = vault.seal(lab, "sealedapp.note", 1, SYNTHETIC, bound={"topic": "a", "revision": 1})
    assert vault.unseal(lab, "sealedapp.note", 1, token,
                        bound={"revision": 1, "topic": "a"}) == SYNTHETIC
    for other in ({"topic": "b", "revision": 1}, {"topic": "a", "revision": 2}, None):
        with pytest.raises(vault.TamperedData):
            vault.unseal(lab, "sealedapp.note", 1, token, bound=other)


def test_a_bound_column_written_in_the_database_is_refused(lab):
    note = _note(lab)
    Note.objects.filter(pk=note.pk).update(topic="autre")
    with pytest.raises(vault.TamperedData):
        Note.objects.get(pk=note.pk).get_sealed()


def test_an_older_token_of_the_row_is_refused(lab):
    note = _note(lab)
    old = bytes(Note.objects.get(pk=note.pk).sealed)
    note.set_sealed({"text": "corrigé"})
    note.save()
    Note.objects.filter(pk=note.pk).update(sealed=old)
    with pytest.raises(vault.TamperedData):
        Note.objects.get(pk=note.pk).get_sealed()


def test_changing_a_bound_column_and_saving_re_seals(lab):
    note = Note.objects.get(pk=_note(lab).pk)
    note.topic = "suivi"
    note.save(update_fields=["topic"])
    stored = Note.objects.get(pk=note.pk)
    assert (stored.topic, stored.revision) == ("suivi", 2)
    assert stored.get_sealed() == {"text": "Patiente synthétique sous anticoagulant"}


def test_a_bulk_path_that_forgets_a_bound_column_fails_loudly(lab):
    with pytest.raises(vault.VaultError):
        Note.binding_of({"revision": 1})


def _legacy_token(lab, record_type, record_id, fields) -> bytes:
    """A format 1 token, as sealed before binding (lab, type and id only)."""
    keys = keyring.get(lab)
    header = struct.pack(">BIH", 1, keys.primary_version, 1)
    ad = header + f"\x00{keys.lab_id}\x00{record_type}\x00{record_id}".encode()
    return header + keys.aeads[keys.primary_version].encrypt(vault._encode(fields), ad)


def test_rows_sealed_before_binding_open_and_rotation_binds_them(lab):
    person = Person(lab=lab)
    person.sealed = _legacy_token(lab, Person.record_type(), person.pk, SYNTHETIC)
    person.key_version = 1
    person.save()
    assert Person.objects.get(pk=person.pk).get_sealed() == SYNTHETIC
    rotate_lab(lab)
    stored = Person.objects.get(pk=person.pk)
    assert vault.token_format(stored.sealed) == vault.FORMAT
    assert stored.revision == 1 and stored.get_sealed() == SYNTHETIC
    Person.objects.filter(pk=person.pk).update(revision=0)
    with pytest.raises(vault.TamperedData):
        Person.objects.get(pk=person.pk).get_sealed()


def test_rotation_keeps_the_binding(lab):
    note = _note(lab)
    rotate_lab(lab)
    stored = Note.objects.get(pk=note.pk)
    assert stored.key_version == 2 and stored.get_sealed()
    Note.objects.filter(pk=note.pk).update(topic="autre")
    with pytest.raises(vault.TamperedData):
        Note.objects.get(pk=note.pk).get_sealed()


def _rows(model, lab):
    return list(model.objects.filter(lab=lab).order_by("pk")
                .values_list(*model.opening_columns()))


def test_the_bulk_open_gives_what_each_row_gives(lab):
    notes = [_note(lab, topic) for topic in ("bilan", "suivi", "contrôle")]
    legacy = Person(lab=lab)
    legacy.sealed = _legacy_token(lab, Person.record_type(), legacy.pk, SYNTHETIC)
    legacy.key_version = 1
    legacy.save()
    assert Note.open_rows(_rows(Note, lab)) == [Note.objects.get(pk=n.pk).get_sealed()
                                                for n in notes]
    assert Person.open_rows(_rows(Person, lab)) == [SYNTHETIC]
    assert Note.open_rows([]) == []


def test_the_bulk_open_refuses_a_row_whose_bound_column_changed(lab):
    notes = [_note(lab), _note(lab)]
    Note.objects.filter(pk=notes[1].pk).update(topic="autre")
    with pytest.raises(vault.TamperedData):
        Note.open_rows(_rows(Note, lab))


def test_the_bulk_open_reads_one_lab_at_a_time(lab, other_lab):
    _note(lab), _note(other_lab)
    rows = list(Note.objects.order_by("pk").values_list(*Note.opening_columns()))
    with pytest.raises(vault.VaultError):
        Note.open_rows(rows)


def test_the_bulk_open_follows_a_rotation_done_since_the_keys_were_read(lab):
    note = _note(lab)
    assert Note.open_rows(_rows(Note, lab))  # the keyring now holds version 1 only
    rotate_lab(lab)
    stored = _rows(Note, lab)
    assert vault.token_key_version(stored[0][2]) == 2
    assert Note.open_rows(stored) == [Note.objects.get(pk=note.pk).get_sealed()]


def test_ids_made_in_bulk_are_positive_63_bit_and_distinct():
    from etanche.vault.models import new_record_ids

    ids = new_record_ids(5000)
    assert len(ids) == len(set(ids)) == 5000
    assert all(0 < i < 2**63 for i in ids)
    assert max(ids) > 2**62  # the top bit of the 63 is used: not a narrower range
    assert new_record_ids(0) == []
