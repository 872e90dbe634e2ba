"""The shortcuts the import's speed relies on leave the registration checks unchanged."""

import random
from datetime import datetime

import phonenumbers
import pytest
from django.core.exceptions import ValidationError

from etanche.imports import fields
from etanche.patients import intake, names, validators
from etanche.patients import nir as nirs


def test_no_two_known_mail_domains_are_one_slip_apart():
    # email_domain_warning answers "" at once for a known domain: sound only while this holds.
    domains = intake.COMMON_MAIL_DOMAINS
    assert not [(a, b) for a in domains for b in domains if intake._one_slip_apart(a, b)]
    assert intake.email_domain_warning("a@gmail.com") == ""
    assert "gmail.com" in intake.email_domain_warning("a@gmial.com")


@pytest.mark.parametrize("typed", ["Dupont", "d’Artagnan-Kèrgoat ", "Œuvray", "LE  GUEREC",
                                   "o'neil--smith"])
def test_the_ascii_shortcut_writes_names_as_the_full_path(typed):
    full = names.unicodedata.normalize("NFKD", typed.translate(names._LIGATURES))
    full = "".join(c for c in full if not names.unicodedata.combining(c))
    assert names.strip_accents(typed) == full


# -- the e-mail domain's typo warning: an index instead of 20 comparisons per address --------

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789.-é"


def _slips(word: str) -> set[str]:
    """Every string one typing slip from `word`: changed, added, removed, swapped."""
    out = {word[:i] + word[i + 1:] for i in range(len(word))}
    out |= {word[:i] + c + word[i + 1:] for i in range(len(word)) for c in ALPHABET}
    out |= {word[:i] + c + word[i:] for i in range(len(word) + 1) for c in ALPHABET}
    out |= {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)}
    return out - {word}


def _reference_warning(domain: str) -> str:
    """The warning as it was computed before the index: each known domain in turn."""
    if domain in intake.COMMON_MAIL_DOMAINS:
        return ""
    for known in intake.COMMON_MAIL_DOMAINS:
        if intake._one_slip_apart(domain, known):
            return known
    return ""


@pytest.mark.parametrize("known", intake.COMMON_MAIL_DOMAINS)
def test_every_one_slip_variant_of_a_known_domain_still_warns(known):
    for typed in _slips(known):
        expected = _reference_warning(typed)
        assert expected  # one slip from `known`: some known domain is named
        warning = intake.email_domain_warning(f"yann@{typed}")
        assert f"« {expected} »" in warning, typed


@pytest.mark.parametrize("known", intake.COMMON_MAIL_DOMAINS)
def test_two_slips_from_a_known_domain_warn_exactly_as_before(known):
    for once in list(_slips(known))[::7]:
        for typed in list(_slips(once))[::11]:
            expected = _reference_warning(typed)
            warning = intake.email_domain_warning(f"yann@{typed}")
            assert (f"« {expected} »" in warning) if expected else warning == "", typed


@pytest.mark.parametrize("domain", ["example.com", "example.org", "chu-brest.fr", "a.fr", "",
                                    "gmail.com.fr", "laposte.fr", "orange.com", "xn--gmal-cpa.com"])
def test_an_unknown_or_known_domain_gives_no_warning(domain):
    assert _reference_warning(domain) == ""
    assert intake.email_domain_warning(f"yann@{domain}") == ""


# -- phones: a national French writing built without phonenumbers.parse ----------------------

NATIONAL_WRITINGS = ["{}{}{}{}{}{}{}{}{}{}", "{}{} {}{} {}{} {}{} {}{}", "{}{}.{}{}.{}{}.{}{}.{}{}",
                     "{}{}-{}{}-{}{}-{}{}-{}{}", "{}{}{}{} {}{}.{}{}-{}{}"]


def test_a_national_writing_is_the_number_phonenumbers_parses():
    rng = random.Random(20)
    for first in "123456789":
        for _ in range(60):
            digits = "0" + first + "".join(rng.choice("0123456789") for _ in range(8))
            for writing in NATIONAL_WRITINGS:
                text = writing.format(*digits)
                assert validators._parse_home(text, "FR") == phonenumbers.parse(text, "FR")


@pytest.mark.parametrize("text", ["0639980044", "06 39 98 00 44", "0690 12 34 56", "0694123456",
                                  "0596 12 34 56", "01 23 45 67 89", "0800 12 34 56",
                                  "06 39 98 00 4", "06 39 98 00 444", "0 639 980 044",
                                  "06/39/98/00/44", "00 33 6 39 98 00 44", "+33 6 39 98 00 44",
                                  "(0)6 39 98 00 44", "06 39 98 00 44 ext 12", "\uff10639980044"])
def test_any_writing_parses_for_the_home_region_as_phonenumbers_does(text):
    # normalize_phone's only change is this first parse: the same number, or None where
    # phonenumbers refuses the text, gives the same E.164 result or the same French reason.
    try:
        parsed = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        parsed = None
    assert validators._parse_home(text, "FR") == parsed
    try:
        result = validators.normalize_phone(text)
    except ValidationError as exc:
        result = exc.messages[0]
    assert result.startswith(("+", "Le numéro de téléphone"))


# -- NIRs and names: the ASCII shortcuts equal the full paths ---------------------------------

@pytest.mark.parametrize("typed", ["1 85 05 78 006 084 91", "1.85.05.78.006.084.91",
                                   " 285052a006084 ", "1 85 05 2b 006 084\t91", "1`85",
                                   "185057800608491", "", "1 85 05 78 006 084 91\n",
                                   "１85057800608491", "1\u00a085"])
def test_the_ascii_shortcut_compacts_nirs_as_stdnum(typed):
    assert nirs.compact(typed) == nirs.stdnum_nir.compact(typed)


def _full_normalize(value: str) -> str:
    text = names.strip_accents(value or "")
    text = names._HYPHENS.sub("-", names._APOSTROPHES.sub("'", text)).upper()
    text = " ".join(text.split())
    text = names._SEPARATOR_SPACES.sub(r"\1", text)
    text = names._REPEATED_SEPARATORS.sub(r"\1", text)
    return text.strip("-' ")


@pytest.mark.parametrize("typed", ["Dupont", " de  la Fontaine ", "d’Artagnan-Kèrgoat ",
                                   "O`Neil", "LE GUEREC", "jean - pierre", "  ", "Œuvray",
                                   "marie''anne", "-Dupont-", "van\tder\nBerg"])
def test_names_normalise_as_the_full_path(typed):
    assert names.normalize_name(typed) == _full_normalize(typed)
    if names.name_search_key(typed):
        text, normal = names.checked_name(typed)
        assert text == names.check_name(typed) and normal == _full_normalize(text)


# -- dates: the two usual writings read without strptime --------------------------------------

def _strptime_date(text: str, fmt: str | None) -> str:
    for candidate in (fmt,) if fmt else fields.DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), candidate).date().isoformat()
        except ValueError:
            continue
    return "refused"


@pytest.mark.parametrize("fmt", [None, "%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%y"])
def test_dates_read_as_strptime_reads_them(fmt):
    rng = random.Random(11)
    texts = ["14/07/1990", "1990-07-14", "29/02/2000", "29/02/1900", "31/04/1990", "00/01/1990",
             "1990-02-30", "0001-01-01", "01/01/0000", "1/7/1990", " 14/07/1990 ", "14/07/90",
             "14-07-1990", "19900714", "14/07/1990 10:30", "١٤/٠٧/١٩٩٠", "14/13/1990", ""]
    texts += [f"{rng.randint(0, 32):02d}/{rng.randint(0, 13):02d}/{rng.randint(1890, 2030)}"
              for _ in range(300)]
    texts += [f"{rng.randint(1890, 2030)}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
              for _ in range(300)]
    for text in texts:
        try:
            got = fields.to_date(text, fmt, "date de naissance")
        except fields.ConversionError:
            got = "refused"
        assert got == _strptime_date(text, fmt), text
