"""Checks of the non-INS fields: RPPS, FINESS, phones, e-mail, dates.

Each function returns the normalised value or raises a Django ValidationError whose French
message names the problem without repeating the value.
"""

import re
from datetime import date
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from stdnum import luhn

# French overseas regions whose numbers are written nationally with a leading 0, like
# mainland ones, and that phonenumbers files under their own region code.
OVERSEAS_REGIONS = ("GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF")
# ARCEP keeps these blocks of 10,000 numbers for works of fiction (data/SOURCES.md). They are
# part of the numbering plan but phonenumbers does not list 06 39 98 as a mobile block.
FICTION_BLOCKS = ("+3319900", "+3326191", "+3335301", "+3346571", "+3353649", "+3363998")
# Oldest verified humans lived about 122 years; beyond this a date is a typing error.
MAX_AGE_YEARS = 125



class _EmailValidator(EmailValidator):
    """Django's, with each domain's verdict remembered: a lab's addresses share a few hundred
    domains, and the domain's regular expression was two thirds of the check's 7 us on every
    imported row."""

    def validate_domain_part(self, domain_part):
        return _domain_verdict(domain_part)


_domain_verdict = lru_cache(maxsize=4096)(EmailValidator().validate_domain_part)
_email_validator = _EmailValidator()
# A French number written nationally (0 then 9 digits, pairs apart or not): what
# phonenumbers.parse(text, "FR") returns for it is country code 33 and the 9 digits after
# the 0 (FR's national prefix, and its numbers are 9 digits from 1-9: tests/patients).
# Built directly it costs a microsecond instead of the parse's thirty, on every row of an
# import; any other writing still goes through the parse.
_FR_NATIONAL = re.compile(r"0([1-9])(?:[ .-]?([0-9]{2}))(?:[ .-]?([0-9]{2}))"
                          r"(?:[ .-]?([0-9]{2}))(?:[ .-]?([0-9]{2}))")


def _digits(value: str) -> str:
    return "".join((value or "").split()).replace(".", "").replace("-", "")


def check_rpps(value: str) -> str:
    """RPPS: 11 digits. Its key is not checked: see docs/identity.md (not confirmed)."""
    number = _digits(value)
    if len(number) != 11 or not number.isdigit():
        raise ValidationError("Le numéro RPPS doit comporter 11 chiffres.", code="rpps_format")
    return number


def check_finess(value: str) -> str:
    """FINESS: 9 digits, the last one a Luhn key."""
    number = _digits(value)
    if len(number) != 9 or not number.isdigit():
        raise ValidationError("Le numéro FINESS doit comporter 9 chiffres.", code="finess_format")
    if not luhn.is_valid(number):
        raise ValidationError(
            "La clé du numéro FINESS (dernier chiffre) ne correspond pas.", code="finess_key"
        )
    return number


def normalize_phone(value: str, region: str = "FR") -> str:
    """A French (mainland or overseas) or international phone number, in E.164."""
    text = (value or "").strip()
    if not text:
        raise ValidationError("Le numéro de téléphone est vide.", code="phone_empty")
    regions = (region,) if text.startswith("+") else (region, *OVERSEAS_REGIONS)
    # Parsed once for the home region: the fiction blocks' test and the first candidate.
    home = _parse_home(text, region)
    fiction = _fiction_number(home)
    if fiction:
        return fiction
    possible = False
    for candidate in regions:
        parsed = home if candidate == region else None
        if parsed is None:
            try:
                parsed = phonenumbers.parse(text, candidate)
            except phonenumbers.NumberParseException:
                raise ValidationError(
                    "Le numéro de téléphone contient des caractères non admis.",
                    code="phone_format",
                ) from None
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        possible = possible or phonenumbers.is_possible_number(parsed)
    if not possible:
        raise ValidationError(
            "Le numéro de téléphone n'a pas le bon nombre de chiffres.", code="phone_length"
        )
    raise ValidationError(
        "Le numéro de téléphone n'existe pas dans le plan de numérotation.", code="phone_invalid"
    )


def _parse_home(text: str, region: str):
    national = _FR_NATIONAL.fullmatch(text) if region == "FR" else None
    if national:
        return phonenumbers.PhoneNumber(country_code=33,
                                        national_number=int("".join(national.groups())))
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _fiction_number(parsed) -> str:
    if parsed is None:
        return ""
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164 if len(e164) == 12 and e164[:8] in FICTION_BLOCKS else ""


def normalize_email(value: str) -> str:
    """Syntax only (Django's EmailValidator); the domain is lower-cased."""
    text = (value or "").strip()
    try:
        _email_validator(text)
    except ValidationError:
        raise ValidationError(
            "L'adresse électronique n'est pas valide.", code="email_invalid"
        ) from None
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_date(value, *, what: str = "La date") -> date:
    """A date, or an ISO string YYYY-MM-DD."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(
            f"{what} doit être une date réelle au format AAAA-MM-JJ.", code="date_format"
        ) from None


def check_past_date(value, *, what: str = "La date", today: date | None = None) -> date:
    """Not in the future and not absurdly old."""
    day = parse_date(value, what=what)
    today = today or date.today()
    if day > today:
        raise ValidationError(f"{what} est dans le futur.", code="date_future")
    if today.year - day.year > MAX_AGE_YEARS:
        raise ValidationError(f"{what} remonte à plus de {MAX_AGE_YEARS} ans.", code="date_too_old")
    return day


def check_birth_date(value, *, today: date | None = None) -> date:
    return check_past_date(value, what="La date de naissance", today=today)
