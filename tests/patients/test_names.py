import unicodedata

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from etanche.patients.names import check_name, name_search_key, normalize_name
from etanche.patients.phonetic import phonetic_key


def test_it_normalises_names_the_ins_way():
    assert normalize_name("  d’Artagnan -  Kèrgoat ") == "D'ARTAGNAN-KERGOAT"
    assert normalize_name("Jean--Pierre") == "JEAN-PIERRE"
    assert normalize_name("Lætitia Œuvray") == "LAETITIA OEUVRAY"


def test_it_makes_separators_irrelevant_for_search():
    assert {
        name_search_key(n) for n in ("D'Artagnan", "d artagnan", "Dartagnan", "D’ARTAGNAN")
    } == {"DARTAGNAN"}


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Kèrgoat", "KERGOAT"),
        ("Lefebvre", "Lefèvre"),
        ("Philippe", "Filipe"),
        ("Dupond", "Dupont"),
        ("Gauthier", "Gautier"),
        ("Catherine", "Katherine"),
        ("Rousseau", "Rousso"),
        ("Schmitt", "Chmit"),
    ],
)
def test_it_gives_names_that_sound_alike_the_same_key(one, other):
    assert phonetic_key(one) == phonetic_key(other)


@pytest.mark.parametrize(("one", "other"), [("Martin", "Bernard"), ("Petit", "Durand")])
def test_it_keeps_different_names_apart(one, other):
    assert phonetic_key(one) != phonetic_key(other)


ACCENTED = "àâäéèêëîïôöùûüçÀÂÄÉÈÊËÎÏÔÖÙÛÜÇ"
name_text = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ -'" + ACCENTED),
    max_size=30,
)


def strip(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@given(name_text)
def test_it_keeps_the_phonetic_key_stable_under_accents_and_case(name):
    key = phonetic_key(name)
    assert phonetic_key(strip(name)) == key
    assert phonetic_key(name.upper()) == key
    assert phonetic_key(name.lower()) == key
    assert phonetic_key(name.replace(" ", "-")) == key


ONLY_LETTERS = (
    "Le nom ne peut contenir que des lettres, des espaces, des traits d'union et des apostrophes."
)


def test_it_keeps_the_name_as_typed_for_display():
    assert check_name("  Le  Kèrgoat ") == "Le Kèrgoat"
    for bad, message in (
        ("", "Le nom est vide."),
        (
            "R2D2",
            ONLY_LETTERS,
        ),
        (
            "--",
            ONLY_LETTERS,
        ),
    ):
        with pytest.raises(ValidationError) as caught:
            check_name(bad)
        assert caught.value.messages == [message]
