"""The shortcuts the import's speed relies on leave the registration checks unchanged."""

import pytest

from etanche.patients import intake, names


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
