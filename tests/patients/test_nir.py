from datetime import date

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from etanche.patients import nir
from etanche.synthetic.people import nir_for


def messages(call, *args, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.messages


def with_key(first13: str) -> str:
    return first13 + f"{nir.nir_key(first13):02d}"


# Published test vectors of the CNAM's nir-validation package (assurance-maladie-digital).
@pytest.mark.parametrize(
    "number", ["255081416802538", "2 84 05 88 321 025 32", "284052A32102552", "284052b32102579"]
)
def test_it_accepts_the_cnam_test_vectors(number):
    assert nir.parse_nir(number).number == number.replace(" ", "").upper()


def test_it_names_the_expected_key_without_echoing_the_number():
    errors = messages(nir.parse_nir, "255081416802500")
    assert errors == [
        "La clé du NIR ne correspond pas (attendue 38). Vérifiez chaque chiffre sur le "
        "justificatif plutôt que de corriger la clé seule."
    ]
    assert "2550814168025" not in errors[0]


def test_it_counts_corsica_2a_as_19_and_2b_as_18():
    assert nir.nir_key("253072A073004") == nir.nir_key("2530719073004")
    assert nir.nir_key("253072B073004") == nir.nir_key("2530718073004")
    assert nir.parse_nir("253072B07300470").department == "2B"


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("", "Le NIR est vide."),
        ("1234", "Le NIR doit comporter 15 caractères (13 et une clé de 2 chiffres), 4 saisis."),
        (
            "2550814X6802538",
            "Le NIR ne contient que des chiffres, sauf 2A ou 2B (Corse) en 6e et 7e position.",
        ),
        (
            "255002A004001",
            "Le NIR doit comporter 15 caractères (13 et une clé de 2 chiffres), 13 saisis.",
        ),
    ],
)
def test_it_explains_malformed_numbers(number, expected):
    assert messages(nir.parse_nir, number) == [expected]


@pytest.mark.parametrize("digit", "78")
def test_it_refuses_a_temporary_number_as_an_ins(digit):
    errors = messages(nir.parse_nir, with_key(f"{digit}55087511600"[:13].ljust(13, "1")))
    assert errors == [
        f"Le premier chiffre du NIR ({digit}) désigne un numéro provisoire de l'Assurance "
        "maladie, qui n'est pas un matricule INS : seuls 1 (homme) et 2 (femme) sont admis."
    ]


@pytest.mark.parametrize("month", ["20", "33", "42", "50", "99"])
def test_it_accepts_the_months_of_incomplete_civil_records(month):
    number = with_key(f"155{month}99350123")
    info = nir.parse_nir(number)
    assert not info.month_known
    nir.check_ins(number, sex="M", birth_date=date(1955, 7, 1), birthplace_code="99350")


@pytest.mark.parametrize("month", ["00", "13", "19", "43", "49"])
def test_it_refuses_months_that_do_not_exist(month):
    assert messages(nir.parse_nir, with_key(f"155{month}75056123")) == [
        "Le mois de naissance du NIR n'existe pas : 01 à 12, ou 20 à 42 et 50 à 99 quand "
        "l'acte de naissance ne donne pas le mois."
    ]


def test_it_checks_consistency_with_sex_year_month_and_birthplace_at_once():
    number = nir_for("F", date(1985, 3, 2), "69381", 12)
    errors = messages(
        nir.check_ins, number, sex="M", birth_date=date(1958, 4, 2), birthplace_code="99350"
    )
    assert errors == [
        "Le premier chiffre du NIR ne correspond pas au sexe saisi.",
        "L'année de naissance du NIR ne correspond pas à la date de naissance.",
        "Le mois de naissance du NIR ne correspond pas à la date de naissance.",
        "Le NIR indique une naissance en France, le lieu saisi est à l'étranger.",
    ]


def test_it_accepts_a_person_born_in_corsica_under_2a_and_2b():
    for code in ("2A004", "2B033"):
        number = nir_for("M", date(1980, 5, 5), code, 7)
        assert (
            nir.check_ins(
                number, sex="M", birth_date=date(1980, 5, 5), birthplace_code=code
            ).warnings
            == ()
        )


def test_it_accepts_department_20_for_corsicans_born_before_1976():
    number = nir_for("F", date(1960, 1, 9), "20004", 3)
    check = nir.check_ins(number, sex="F", birth_date=date(1960, 1, 9), birthplace_code="2A004")
    assert check.warnings == ()


def test_it_reads_overseas_departments_on_three_digits():
    number = nir_for("F", date(1990, 8, 1), "97105", 44)
    info = nir.check_ins(number, sex="F", birth_date=date(1990, 8, 1), birthplace_code="97105")
    assert info.nir.department == "971"
    errors = messages(
        nir.check_ins, number, sex="F", birth_date=date(1990, 8, 1), birthplace_code="97411"
    )
    assert errors == [
        "Le département de naissance du NIR ne correspond pas au lieu de naissance saisi."
    ]


def test_it_accepts_overseas_collectivities():
    number = nir_for("M", date(1970, 2, 1), "98735", 1)
    nir.check_ins(number, sex="M", birth_date=date(1970, 2, 1), birthplace_code="98735")


def test_it_checks_the_country_of_a_person_born_abroad():
    number = nir_for("M", date(1975, 6, 1), "99350", 10)
    assert nir.parse_nir(number).born_abroad
    assert messages(
        nir.check_ins, number, sex="M", birth_date=date(1975, 6, 1), birthplace_code="99109"
    ) == ["Le pays de naissance du NIR ne correspond pas au lieu de naissance saisi."]
    assert messages(
        nir.check_ins, number, sex="M", birth_date=date(1975, 6, 1), birthplace_code="75056"
    ) == ["Le NIR indique une naissance à l'étranger, le lieu saisi est en France."]
    assert messages(nir.parse_nir, with_key("1750699999010")) == [
        "Le code pays de naissance du NIR (99 suivi de 3 chiffres) est inconnu de la liste "
        "INSEE des pays."
    ]


def test_it_warns_rather_than_refuses_an_obsolete_country_code():
    number = nir_for("F", date(1950, 6, 1), "99141", 10)
    check = nir.check_ins(number, sex="F", birth_date=date(1950, 6, 1), birthplace_code="99109")
    assert check.warnings == ("Pays de naissance du NIR différent (ancien code ?) : à vérifier.",)


def test_it_warns_about_a_commune_code_missing_from_the_list():
    number = nir_for("M", date(1950, 6, 1), "75999", 10)
    check = nir.check_ins(number, sex="M", birth_date=date(1950, 6, 1), birthplace_code="75999")
    assert check.warnings == (
        "Commune de naissance du NIR absente de la liste INSEE 2026 (commune disparue ?) : "
        "à vérifier.",
    )


def test_it_accepts_a_nia_as_such():
    number = nir_for("F", date(2001, 12, 24), "99216", 300)
    check = nir.check_ins(
        number, sex="F", birth_date=date(2001, 12, 24), birthplace_code="99216",
        oid=nir.INS_OID_NIA,
    )  # fmt: skip
    assert check.oid == "1.2.250.1.213.1.4.9"
    assert messages(
        nir.check_ins, number, sex="M", birth_date=date(2001, 12, 24), birthplace_code="99216",
        oid=nir.INS_OID_NIA,
    ) == ["Le premier chiffre du NIA ne correspond pas au sexe saisi."]  # fmt: skip


def test_it_knows_the_ins_oids():
    assert nir.INS_OIDS == {
        "1.2.250.1.213.1.4.8": "NIR",
        "1.2.250.1.213.1.4.9": "NIA",
        "1.2.250.1.213.1.4.10": "INS de test",
        "1.2.250.1.213.1.4.11": "INS de démonstration",
    }
    with pytest.raises(ValidationError):
        nir.check_ins("", sex="M", birth_date=date(2000, 1, 1), birthplace_code="75056", oid="1.2")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("75", "Le lieu de naissance est un code INSEE de 5 caractères : code commune (2A ou 2B "
               "pour la Corse) ou 99 suivi du code pays."),
        ("99100", "Le code 99100 désigne la France : saisissez le code INSEE de la commune."),
        ("99999", "Le code pays du lieu de naissance est inconnu de la liste INSEE des pays."),
        ("00123", "Le département du lieu de naissance n'existe pas dans le code officiel "
                  "géographique."),
    ],
)  # fmt: skip
def test_it_explains_bad_birthplace_codes(code, expected):
    assert messages(nir.check_birthplace_code, code) == [expected]


def test_it_names_birthplaces():
    assert nir.check_birthplace_code("2a004").label == "Ajaccio"
    assert nir.check_birthplace_code("99350").abroad
    assert nir.check_birthplace_code("01039").label == "Béon"  # commune déléguée


nir_bodies = st.builds(
    lambda sex, year, month, place, serial: (sex, date(year, month, 1), place, serial),
    st.sampled_from("MF"),
    st.integers(1900, 2025),
    st.integers(1, 12),
    st.sampled_from(["75056", "2A004", "2B033", "97105", "98735", "99350", "13201", "01039"]),
    st.integers(1, 999),
)


@given(nir_bodies)
def test_it_accepts_every_well_formed_nir(body):
    sex, born, place, serial = body
    nir.check_ins(
        nir_for(sex, born, place, serial), sex=sex, birth_date=born, birthplace_code=place
    )


@given(nir_bodies, st.integers(0, 14), st.integers(1, 9))
def test_it_refuses_any_single_digit_change(body, position, shift):
    number = nir_for(*body)
    if not number[position].isdigit():
        position = 0
    changed = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    with pytest.raises(ValidationError) as caught:
        nir.parse_nir(changed)
    assert all(changed not in message for message in caught.value.messages)
