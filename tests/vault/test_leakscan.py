"""No plaintext identity in the raw database, and the scanner itself proven to see plaintext."""

import base64

import pytest

from etanche.ops.labs import create_lab
from etanche.vault import services as vault
from tests.leakscan import find_leaks, raw_database_bytes, variants
from tests.sealedapp.models import Note, Person

# Synthetic people only; values chosen to be unlikely by chance in a database file.
PEOPLE = [
    {
        "birth_name": f"QUARTENAY-{i:03d}",
        "first_names": ["Éloïse", f"Maëlys{i}"],
        "nir": f"2840299{i:03d}45611"[:15],
        "phone": f"+3363998{i:04d}",
        "email": f"eloise.quartenay{i}@exemple.invalid",
        "address": f"{i} impasse des Glycines-Synthétiques",
        "notes": f"Traitement anticoagulant fictif n°{i}",
    }
    for i in range(40)
]


def _needles():
    return [v for p in PEOPLE for v in (p["birth_name"], p["nir"], p["phone"], p["email"],
                                          p["address"], p["notes"], p["first_names"][1])]


@pytest.mark.django_db(transaction=True)
def test_it_leaves_no_plaintext_identity_in_the_raw_database():
    lab = create_lab("leak-lab", "Laboratoire Témoin-Scanner", "990000002")
    people = [Person(lab=lab) for _ in PEOPLE]
    tokens = vault.seal_many(lab, Person.record_type(), [
        (p.pk, fields, p.current_binding()) for p, fields in zip(people, PEOPLE, strict=True)
    ])
    for person, token, fields in zip(people, tokens, PEOPLE, strict=True):
        person.sealed, person.key_version = token, 1
        person.nir_index = vault.blind_index(lab, "nir", fields["nir"])
        person.surname_index = vault.blind_index(lab, "surname", fields["birth_name"])
    Person.objects.bulk_create(people)
    note = Note(lab=lab)
    note.set_sealed({"text": PEOPLE[0]["notes"]})
    note.save()

    blob = raw_database_bytes()

    # The scanner sees clear text when there is some: the lab's name is stored in clear.
    assert find_leaks(blob, ["Laboratoire Témoin-Scanner"])
    assert find_leaks(blob, _needles()) == []


def test_it_checks_common_encodings():
    forms = variants("Éloïse")
    assert "ÉLOÏSE".encode() in forms
    assert b"Eloise" in forms
    assert "Éloïse".encode("utf-16-le") in forms
    assert find_leaks(b"xx" + "ELOISE".encode("utf-16-be") + b"yy", ["Éloïse"])
    assert find_leaks(b"xx" + base64.b64encode("Éloïse".encode()) + b"yy", ["Éloïse"])
