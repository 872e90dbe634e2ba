from datetime import date

import pytest
from django.core.exceptions import ValidationError
from stdnum import luhn

from etanche.patients import validators
from etanche.patients.bloodgroups import BLOOD_GROUPS, FRANCE_PERCENT, normalize_blood_group


def messages(call, *args, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.messages


def test_it_takes_an_rpps_of_eleven_digits():
    assert validators.check_rpps("99 123 456 789") == "99123456789"
    for bad in ("9912345678", "991234567890", "9912345678A"):
        assert messages(validators.check_rpps, bad) == [
            "Le numéro RPPS doit comporter 11 chiffres."
        ]


def test_it_checks_the_finess_luhn_key():
    assert validators.check_finess("99 000 000 2") == "990000002"
    assert messages(validators.check_finess, "990000003") == [
        "La clé du numéro FINESS (dernier chiffre) ne correspond pas."
    ]
    assert messages(validators.check_finess, "99000000") == [
        "Le numéro FINESS doit comporter 9 chiffres."
    ]
    body = "12345678"
    assert validators.check_finess(body + luhn.calc_check_digit(body)) == "123456782"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("01 99 00 12 34", "+33199001234"),  # mainland landline, fiction block
        ("06.39.98.12.34", "+33639981234"),  # ARCEP fiction mobile
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0690 12 34 56", "+590690123456"),  # Guadeloupe mobile typed nationally
        ("0262 12 34 56", "+262262123456"),  # La Réunion landline
        ("+1 202 555 0143", "+12025550143"),
    ],
)
def test_it_normalises_phones_to_e164(typed, e164):
    assert validators.normalize_phone(typed) == e164


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", "Le numéro de téléphone est vide."),
        ("06 12", "Le numéro de téléphone n'a pas le bon nombre de chiffres."),
        ("07 12 34 56 78", "Le numéro de téléphone n'existe pas dans le plan de numérotation."),
        ("appelez-moi", "Le numéro de téléphone contient des caractères non admis."),
    ],
)
def test_it_explains_bad_phones(typed, expected):
    assert messages(validators.normalize_phone, typed) == [expected]


def test_a_domain_remembered_gets_djangos_own_verdict():
    """The domain's verdict is cached (imports check hundreds of thousands of addresses on a
    few hundred domains): the answers stay Django's EmailValidator's, repeat after repeat."""
    from django.core.validators import EmailValidator

    django_validator = EmailValidator()
    addresses = ["camille.roux@example.org", "a@-x.example", "a@[192.0.2.1]", "a@[999.1.1.1]",
                 "a@example.org.", "a@exa_mple.org", "b@localhost", "x@xn--bcher-kva.example",
                 "a b@example.org", "a@b"]
    for _ in range(2):
        for address in addresses:
            try:
                django_validator(address)
                expected = True
            except ValidationError:
                expected = False
            try:
                validators.normalize_email(address)
                ours = True
            except ValidationError:
                ours = False
            assert ours is expected, address


def test_it_checks_email_syntax():
    assert validators.normalize_email(" Camille.Roux@Example.ORG ") == "Camille.Roux@example.org"
    for bad in ("camille", "camille@", "a b@example.org", "camille@example"):
        assert messages(validators.normalize_email, bad) == [
            "L'adresse électronique n'est pas valide."
        ]


def test_it_refuses_future_and_absurd_dates():
    today = date(2026, 11, 28)
    assert validators.check_birth_date("2026-11-28", today=today) == today
    assert messages(validators.check_birth_date, date(2026, 11, 29), today=today) == [
        "La date de naissance est dans le futur."
    ]
    assert messages(validators.check_birth_date, "1890-01-01", today=today) == [
        "La date de naissance remonte à plus de 125 ans."
    ]
    assert messages(validators.check_birth_date, "2001-02-30", today=today) == [
        "La date de naissance doit être une date réelle au format AAAA-MM-JJ."
    ]


def test_it_knows_the_eight_blood_groups_and_their_french_frequencies():
    assert sorted(BLOOD_GROUPS) == sorted(FRANCE_PERCENT)
    assert sum(FRANCE_PERCENT.values()) == 100
    assert normalize_blood_group("ab nég") == "AB-"
    assert normalize_blood_group("O POS") == "O+"
    assert normalize_blood_group("A\u2212") == "A-"
    assert messages(normalize_blood_group, "C+") == [
        "Groupe sanguin inconnu : A, B, AB ou O suivi du rhésus + ou -."
    ]
