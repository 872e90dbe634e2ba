import csv
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from etanche.journal.models import Entry
from etanche.orders import catalogue, wording
from etanche.orders.models import CatalogueTest
from etanche.orders.preanalytical import QUESTIONS, SPECIMEN_KINDS
from tests.personas import sign_in

DATA = Path(catalogue.__file__).parent / "data"
# The full NABM reference file, copied into the repository (tests/data/SOURCES.md);
# the product ships only its subset and never reads this one.
REFERENCE_NABM = Path(__file__).resolve().parents[1] / "data" / "nabm.csv"


def _rows(name):
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_it_ships_at_least_150_distinct_nabm_acts_with_default_settings():
    acts, defaults = _rows("nabm_subset.csv"), _rows("lab_defaults.csv")
    codes = [r["code"] for r in acts]
    assert len(codes) >= 150 and len(set(codes)) == len(codes)
    assert all(len(c) == 4 and c.isdigit() for c in codes)
    assert [r["code"] for r in defaults] == codes
    for row in defaults:
        assert row["specimen"] in SPECIMEN_KINDS, row["code"]
        assert all(q in QUESTIONS for q in row["questions"].split()), row["code"]
    assert (DATA / "SOURCES.md").read_text().count("April 2019") >= 1


def test_it_copies_codes_labels_and_coefficients_verbatim_from_the_reference():
    with open(REFERENCE_NABM, encoding="utf-8", newline="") as fh:
        source = {r["code"]: r for r in csv.DictReader(fh)}
    for row in _rows("nabm_subset.csv"):
        ref = source[row["code"]]
        assert ref["status"] == "active", row["code"]
        for column in ("label", "short_label", "coefficient_b", "chapter", "sub_chapter",
                       "last_effect_date"):
            assert row[column] == ref[column], (row["code"], column)


def test_it_seeds_each_lab_once(world):
    shipped = len(_rows("nabm_subset.csv"))
    assert catalogue.all_tests(world.lab_a).count() == shipped
    assert catalogue.seed_catalogue(world.lab_a) == 0
    assert catalogue.all_tests(world.lab_b).count() == shipped
    nfs = catalogue.all_tests(world.lab_a).get(code="1104")
    assert (nfs.coefficient_b, nfs.specimen, nfs.origin) == (25, "edta", "nabm")
    assert catalogue.all_tests(world.lab_a).get(code="0127").question_keys == ["anticoagulant"]


def test_it_keeps_a_labs_changes_when_seeding_again(world):
    test = catalogue.all_tests(world.lab_a).get(code="0552")
    catalogue.update_settings(world.lab_a, world.labadmin, test, specimen="serum",
                              questions="fasting")
    catalogue.set_enabled(world.lab_a, world.labadmin, test, False)
    catalogue.seed_catalogue(world.lab_a)
    test.refresh_from_db()
    assert (test.specimen, test.enabled) == ("serum", False)
    assert catalogue.all_tests(world.lab_b).get(code="0552").specimen == "fluoride"
    assert Entry.objects.filter(lab_id=world.lab_a.pk, object_type="catalogue",
                                object_id="0552").count() == 2


def test_it_adds_local_tests_under_letter_codes(world):
    test = catalogue.add_local_test(world.lab_a, world.labadmin, code="l001",
                                    label="Dosage maison", specimen="serum")
    assert (test.code, test.origin) == ("L001", CatalogueTest.LOCAL)
    assert [t.code for t in catalogue.search_tests(world.lab_a, "L00")] == ["L001"]
    for bad in ("1234", "L001", "", "L-1"):
        with pytest.raises(ValidationError) as caught:
            catalogue.add_local_test(world.lab_a, world.labadmin, code=bad, label="x",
                                     specimen="serum")
        assert "code" in caught.value.message_dict
    with pytest.raises(ValidationError):
        catalogue.add_local_test(world.lab_a, world.labadmin, code="L002", label="x",
                                 specimen="blood_of_unicorn")


def test_it_finds_tests_by_code_prefix_or_label_words(world):
    assert [t.code for t in catalogue.search_tests(world.lab_a, "1104")] == ["1104"]
    assert "1213" in [t.code for t in catalogue.search_tests(world.lab_a, "ferritine")]
    assert catalogue.search_tests(world.lab_a, "") == []


# --- search and labels in French (issue 24, item 4) -------------------------------------------

@pytest.mark.parametrize(("typed", "first"), [
    ("glycémie", "0552"), ("glycemie", "0552"), ("GLYCÉMIE", "0552"), ("tsh", "1208"),
    ("TSH", "1208"), ("nfs", "1104"), ("NFP", "1104"), ("crp", "1804"), ("hba1c", "1577"),
    ("HbA1c", "1577"), ("ferritine", "1213"), ("bilan lipidique", "0996"),
    ("hémogramme", "1104"), ("protéine c réactive", "1804"), ("Créatinine", "0592"),
])
def test_search_ignores_accents_and_case_and_knows_the_usual_names(world, typed, first):
    found = [t.code for t in catalogue.search_tests(world.lab_a, typed)]
    assert found and found[0] == first, found


def test_tsh_finds_every_test_written_t_s_h(world):
    found = {t.code for t in catalogue.search_tests(world.lab_a, "tsh")}
    assert {"1208", "1211", "1212", "1488"} <= found


def test_every_synonym_names_a_shipped_code():
    assert set(wording.synonyms()) <= set(catalogue.nabm_acts())


def test_labels_read_in_french_and_the_official_one_is_kept_verbatim(world):
    catalogue.ensure_seeded(world.lab_a)
    test = CatalogueTest.objects.for_lab(world.lab_a).get(code="1104")
    assert test.label == "Hémogramme y compris plaquettes (NFS, NFP)"
    assert catalogue.official_label("1104") == "HEMOGRAMME Y COMPRIS PLAQUETTES (NFS , NFP)"
    assert CatalogueTest.objects.for_lab(world.lab_a).get(code="0552").label == \
        "Sang : glucose (glycémie)"
    assert catalogue.official_label("L001") is None


def test_the_test_search_page_shows_the_official_label_beside(world, client):
    sign_in(client, world.frontdesk)
    page = client.get(reverse("test_search"), {"q": "glycémie"}).content.decode()
    assert "Sang : glucose (glycémie)" in page
    assert "Libellé NABM : GLUCOSE" in page
