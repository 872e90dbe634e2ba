"""Names as typed (kept for display) and their normalised forms (for comparison and search).

- `normalize_name`: the INS writing, upper case A-Z without accents, hyphen and apostrophe
  kept as single characters, one space between words: "d’Artagnan-Kèrgoat " -> "D'ARTAGNAN-KERGOAT".
- `name_search_key`: letters only, "D'ARTAGNAN" = "D ARTAGNAN" = "DARTAGNAN", so a search does
  not depend on how separators were typed.
- `phonetic_key` (in phonetic.py) builds on the search key.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

# Letters that do not decompose into a base letter + accent.
_LIGATURES = str.maketrans(
    {"Œ": "OE", "œ": "OE", "Æ": "AE", "æ": "AE", "ß": "SS", "Ø": "O", "ø": "O"}
)
_APOSTROPHES = re.compile(r"[\u2019\u2018\u02bc`\u00b4]")
_HYPHENS = re.compile(r"[\u2010-\u2015\u2212]")
_SEPARATOR_SPACES = re.compile(r"\s*([-'])\s*")
_NOT_LETTER = re.compile(r"[^A-Z]")
_REPEATED_SEPARATORS = re.compile(r"([-'])[-']+")
_INS_WRITING = re.compile(r"[A-Z' -]+")


def strip_accents(value: str) -> str:
    if value.isascii():  # most names: no accent, no ligature, nothing to decompose
        return value
    decomposed = unicodedata.normalize("NFKD", value.translate(_LIGATURES))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalize_name(value: str) -> str:
    text = strip_accents(value or "")
    if text.isascii() and "-" not in text and "'" not in text and "`" not in text:
        return " ".join(text.upper().split())  # most names: no separator for the rules below
    text = _HYPHENS.sub("-", _APOSTROPHES.sub("'", text)).upper()
    text = " ".join(text.split())
    text = _SEPARATOR_SPACES.sub(r"\1", text)
    text = _REPEATED_SEPARATORS.sub(r"\1", text)
    return text.strip("-' ")


def name_search_key(value: str) -> str:
    return _NOT_LETTER.sub("", normalize_name(value))


def check_name(value: str, *, what: str = "Le nom") -> str:
    """A name as typed, trimmed: letters (accents allowed), spaces, hyphens, apostrophes."""
    return checked_name(value, what=what)[0]


def checked_name(value: str, *, what: str = "Le nom") -> tuple[str, str]:
    """`check_name`'s text and its `normalize_name` form, which the check computes anyway."""
    text = " ".join((value or "").split())
    if not text:
        raise ValidationError(f"{what} est vide.", code="name_empty")
    if len(text) > 100:
        raise ValidationError(f"{what} dépasse 100 caractères.", code="name_length")
    normal = normalize_name(text)
    if not _INS_WRITING.fullmatch(normal) or not _NOT_LETTER.sub("", normal):
        raise ValidationError(
            f"{what} ne peut contenir que des lettres, des espaces, des traits d'union et des "
            "apostrophes.",
            code="name_characters",
        )
    return text, normal
