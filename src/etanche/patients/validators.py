"""Checks of the non-INS fields: RPPS, FINESS, phones, e-mail, dates.

Each function returns the normalised value or raises a Django ValidationError whose French
message names the problem without repeating the value.
"""

from datetime import date

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

_email_validator = EmailValidator()


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
    try:
        # Parsed once for the home region: the fiction blocks' test and the first candidate.
        home = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        home = None
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
