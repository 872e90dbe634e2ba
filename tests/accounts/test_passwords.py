"""Password policy (CNIL 2022-100 entropy) and the refusal of generic usernames."""

import math

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from etanche.accounts.passwords import (
    CnilEntropyValidator,
    alphabet_size,
    cnil_entropy,
    generate_one_time_password,
    generic_username_reason,
)


@pytest.mark.parametrize(
    ("password", "alphabet"),
    [("abcdefgh", 26), ("ABCdef", 52), ("abc123", 36), ("Az3rty0)", 99), ("é", 37),
     ("Aa1!", 99), ("12345678", 10)],
)
def test_it_sizes_the_alphabet_by_the_classes_present(password, alphabet):
    assert alphabet_size(password) == alphabet


def test_it_matches_the_cnil_worked_examples():
    # 12 characters from the four classes: the CNIL's first example for 80 bits.
    assert cnil_entropy("Aa1!" * 3) == pytest.approx(12 * math.log2(99))
    assert cnil_entropy("Aa1!" * 3) == pytest.approx(79.55, abs=0.01)
    # 14 characters, upper, lower and digits: its second example.
    assert cnil_entropy("Aa1" * 4 + "bb") == pytest.approx(14 * math.log2(62))
    assert cnil_entropy("Aa1" * 4 + "bb") > 80
    # 8 characters over the four classes: above the 50 bits of case 2.
    assert cnil_entropy("Az3rty0)") == pytest.approx(53.03, abs=0.01)


@given(st.text(min_size=1, max_size=64))
def test_entropy_is_length_times_log2_of_the_alphabet(password):
    assert cnil_entropy(password) == pytest.approx(len(password) * math.log2(
        alphabet_size(password)))


@given(st.text(max_size=40), st.text(min_size=1, max_size=1))
def test_a_longer_password_never_has_less_entropy(password, extra):
    assert cnil_entropy(password + extra) >= cnil_entropy(password)


def test_the_validator_refuses_below_50_bits_in_french():
    validator = CnilEntropyValidator(min_bits=50)
    validator.validate("Az3rty0)")  # 53 bits
    with pytest.raises(ValidationError, match="trop prévisible"):
        validator.validate("abcdefghij")  # 47 bits


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["qwerty123456", "telechargement", "motdepasse",
                                      "password1234", "Julien.Martin1", "aaaaaaaa"])
def test_the_configured_policy_refuses_weak_or_common_passwords(world, password):
    with pytest.raises(ValidationError):
        password_validation.validate_password(password, world.frontdesk)


@pytest.mark.django_db
def test_the_configured_policy_accepts_a_long_passphrase(world):
    password_validation.validate_password("cheval agrafe pile correcte", world.frontdesk)


def test_one_time_passwords_reach_80_bits_the_cnil_way():
    for _ in range(50):
        password = generate_one_time_password()
        assert len(password) == 20
        assert cnil_entropy(password) >= 80


def test_one_time_passwords_do_not_repeat():
    assert len({generate_one_time_password() for _ in range(200)}) == 200


@pytest.mark.parametrize("username", [
    "admin", "Admin2", "root", "accueil", "accueil.site2", "labo", "LABO-1", "secretariat",
    "secrétariat", "test", "user", "utilisateur", "guest", "demo", "biologiste", "12345", "ab",
])
def test_it_refuses_generic_usernames(username):
    assert generic_username_reason(username) is not None


@pytest.mark.parametrize("username", ["claire.dubois", "jmartin", "anne-marie.leroy", "n.petit2"])
def test_it_accepts_personal_usernames(username):
    assert generic_username_reason(username) is None
