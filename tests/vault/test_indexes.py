"""Blind indexes: the registry's sizes, per-lab and per-index keys, and the docs table."""

import math
import re
from pathlib import Path

import pytest

from etanche.vault import indexes
from etanche.vault import services as vault
from etanche.vault.rotation import rotate_lab

NEEDED = {
    "nir", "ins", "birth_name_dob", "used_name_dob", "phonetic_dob", "surname", "phone", "email",
}
SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_it_declares_every_index_patients_need():
    assert NEEDED <= set(indexes.INDEXES)


@pytest.mark.parametrize("name", sorted(indexes.INDEXES))
def test_it_sizes_each_index_by_the_ciphersweet_rule_across_target_lab_sizes(name):
    index = indexes.INDEXES[name]
    low, high = indexes.TARGET_RECORDS
    for records in (low, 10**5, 10**6, high):
        c = indexes.coincidences(index, records)
        assert 2 <= c < math.sqrt(records), (name, records, c)
    assert index.bits < 32  # fits a plain integer column


@pytest.mark.parametrize("name", sorted(indexes.INDEXES))
def test_it_documents_each_index_with_its_bits(name):
    rows = re.findall(r"^\|\s*`([a-z_]+)`\s*\|\s*(\d+)\s*\|", SECURITY_DOC.read_text(), re.M)
    assert (name, str(indexes.INDEXES[name].bits)) in rows


def test_it_computes_truncated_values_stable_per_lab_and_distinct_across_labs(lab, other_lab):
    value = "284029912345611"
    first = vault.blind_index(lab, "nir", value)
    assert first == vault.blind_index(lab, "nir", value)
    assert 0 <= first < 2 ** indexes.INDEXES["nir"].bits
    values = [f"2840299123456{i:02d}" for i in range(60)]
    ours = vault.blind_indexes(lab, "nir", values)
    theirs = vault.blind_indexes(other_lab, "nir", values)
    assert ours == [vault.blind_index(lab, "nir", v) for v in values]
    assert ours != theirs  # one key per lab


def test_it_derives_one_key_per_index(lab):
    values = [f"VALUE{i}" for i in range(60)]
    assert vault.blind_indexes(lab, "surname", values) != vault.blind_indexes(lab, "email", values)


def test_it_collides_on_purpose_at_the_expected_rate(lab):
    records = 20_000
    values = [f"1{i:014d}" for i in range(records)]
    buckets = len(set(vault.blind_indexes(lab, "nir", values)))
    # 20,000 values into 4,096 buckets fill nearly all of them: many values share each.
    assert buckets > 4_000
    assert records / buckets > 4


def test_it_refuses_unknown_indexes_and_empty_values(lab):
    with pytest.raises(vault.UnknownIndex):
        vault.blind_index(lab, "blood_group", "A+")
    with pytest.raises(vault.VaultError):
        vault.blind_index(lab, "nir", "")


def test_it_composes_parts_unambiguously():
    assert indexes.compose("AB", "C") != indexes.compose("A", "BC")


def test_it_derives_stable_subkeys_that_rotation_leaves_alone(lab, other_lab):
    chain = vault.derive_key(lab, "journal-chain")
    assert len(chain) == 32
    assert chain == vault.derive_key(lab, "journal-chain")
    assert chain != vault.derive_key(lab, "export-pseudonym:1")
    assert chain != vault.derive_key(other_lab, "journal-chain")
    before = vault.blind_index(lab, "nir", "284029912345611")
    rotate_lab(lab)
    assert vault.derive_key(lab, "journal-chain") == chain
    assert vault.blind_index(lab, "nir", "284029912345611") == before
