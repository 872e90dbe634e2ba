"""Blind indexes: sizes per lab by CipherSweet's rule, per-lab and per-index keys, docs table."""

import math
import re
from pathlib import Path

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from etanche.ops.labs import create_lab
from etanche.vault import indexes, keyring
from etanche.vault import services as vault
from etanche.vault.models import LabKeyset
from etanche.vault.rotation import rotate_lab

NEEDED = {
    "nir", "ins", "birth_name_dob", "used_name_dob", "phonetic_dob", "surname", "phone", "email",
}
SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
EXPECTED = st.integers(indexes.MIN_EXPECTED, indexes.MAX_EXPECTED)


def test_it_declares_every_index_patients_need():
    assert NEEDED <= set(indexes.INDEXES)


@settings(max_examples=500)
@given(EXPECTED)
def test_it_picks_the_largest_size_that_keeps_two_coincidences(records):
    bits = indexes.rule_bits(records)
    assert records / 2**bits >= 2
    assert records / 2 ** (bits + 1) < 2  # one more bit would break C >= 2


@settings(max_examples=500)
@given(EXPECTED)
def test_it_keeps_every_index_within_the_safe_range_at_any_declared_size(records):
    for name, bits in indexes.plan(records).items():
        c = indexes.coincidences(bits, records)
        assert 2 <= c < math.sqrt(records), (name, records, c)
        assert bits <= indexes.MAX_BITS  # fits the advisory-lock packing and an int column


@pytest.mark.parametrize(("records", "bits"), [(1_000, 8), (10**4, 12), (10**5, 15), (10**6, 18),
                                           (10**7, 22), (10**8, 25)])
def test_it_sizes_the_usual_lab_sizes_as_documented(records, bits):
    assert indexes.plan(records)["nir"] == bits


def test_it_never_makes_the_surname_index_finer_than_twelve_bits_unless_sqrt_requires():
    assert indexes.plan(10**6)["surname"] == 12
    assert indexes.plan(10**7)["surname"] == 12
    assert indexes.plan(10**8)["surname"] == 14  # 2^13 would leave C = 12,207 > 10,000
    assert indexes.plan(1_000)["surname"] == 8


@pytest.mark.parametrize("bad", [999, 100_000_001, 0, -5, 1.5e6, "100000", True])
def test_it_refuses_expected_sizes_out_of_range(bad):
    with pytest.raises(vault.VaultError):
        indexes.plan(bad)


def _docs_sizes() -> dict[str, list[tuple[int, str]]]:
    """{index: [(bits, C), ...]} from the per-size table of docs/security.md."""
    text = SECURITY_DOC.read_text()
    header = re.search(r"^\| index \|((?: 10\^\d+ \|)+)\s*$", text, re.M)
    assert header, "docs/security.md lost its table of bits per expected size"
    sizes = [10 ** int(e) for e in re.findall(r"10\^(\d+)", header.group(1))]
    assert tuple(sizes) == indexes.DOC_SIZES
    rows = {}
    for name, cells in re.findall(r"^\|\s*`([a-z_]+)`\s*\|((?:\s*\d+ bits, C = [\d,.]+\s*\|)+)\s*$",
                                  text, re.M):
        rows[name] = [(int(b), c) for b, c in re.findall(r"(\d+) bits, C = ([\d,.]+)", cells)]
    return rows


def _shown(c: float) -> str:
    return f"{c:,.1f}" if c < 100 else f"{c:,.0f}"


@pytest.mark.parametrize("name", sorted(indexes.INDEXES))
def test_it_documents_each_index_with_the_bits_and_coincidences_the_code_derives(name):
    rows = _docs_sizes()
    assert name in rows, f"docs/security.md has no size row for `{name}`"
    derived = [(indexes.plan(r)[name], _shown(indexes.coincidences(indexes.plan(r)[name], r)))
               for r in indexes.DOC_SIZES]
    assert rows[name] == derived


@pytest.mark.parametrize("name", sorted(indexes.INDEXES))
def test_it_documents_what_each_index_reveals(name):
    reveals = re.findall(r"^\|\s*`([a-z_]+)`\s*\|[^|]+\|\s*[~\d.–() a-z-]+\|\s*[^|]{20,}\|\s*$",
                         SECURITY_DOC.read_text(), re.M)
    assert name in reveals


def test_it_computes_truncated_values_stable_per_lab_and_distinct_across_labs(lab, other_lab):
    value = "284029912345611"
    first = vault.blind_index(lab, "nir", value)
    assert first == vault.blind_index(lab, "nir", value)
    values = [f"2840299123456{i:02d}" for i in range(60)]
    ours = vault.blind_indexes(lab, "nir", values)
    theirs = vault.blind_indexes(other_lab, "nir", values)
    assert ours == [vault.blind_index(lab, "nir", v) for v in values]
    assert ours != theirs  # one key per lab


def test_it_fixes_the_sizes_at_provisioning_and_keeps_values_within_them(db):
    small = create_lab("small", "Petit", "990000002", expected_patients=5_000)
    large = create_lab("large", "Grand", "990000010", expected_patients=3_000_000)
    assert vault.index_sizes(small) == (5_000, indexes.plan(5_000))
    assert vault.index_sizes(large) == (3_000_000, indexes.plan(3_000_000))
    values = [f"1{i:014d}" for i in range(5_000)]
    for lab, records in ((small, 5_000), (large, 3_000_000)):
        bits = indexes.plan(records)["nir"]
        got = vault.blind_indexes(lab, "nir", values)
        assert all(0 <= v < 2**bits for v in got)
        assert max(got) >= 2 ** (bits - 1)  # the top bit is used: not a smaller size
    # Provisioning again never resizes: the sizes are for the lab's life.
    assert vault.provision_lab(small, 10**7) is False
    keyring.forget()
    assert vault.index_sizes(small) == (5_000, indexes.plan(5_000))


def test_it_reads_the_sizes_with_the_keys_without_a_query_per_call(lab):
    from django.test.utils import CaptureQueriesContext

    vault.blind_index(lab, "nir", "284029912345611")
    with CaptureQueriesContext(connection) as queries:
        for name in indexes.INDEXES:
            vault.blind_indexes(lab, name, ["A", "B"])
    assert len(queries) == 0


def test_it_keeps_twelve_bits_for_a_lab_provisioned_before_per_lab_sizing(lab):
    # What migration 0002 leaves on a lab created earlier: no expected size, 12 bits.
    LabKeyset.objects.filter(lab=lab, kind="prf").update(
        expected_records=None, index_bits=dict.fromkeys(indexes.INDEXES, 12))
    keyring.forget()
    assert vault.index_sizes(lab) == (None, dict.fromkeys(indexes.INDEXES, 12))
    assert all(v < 4096 for v in vault.blind_indexes(lab, "nir", [f"V{i}" for i in range(500)]))


def test_it_derives_one_key_per_index(lab):
    values = [f"VALUE{i}" for i in range(60)]
    assert vault.blind_indexes(lab, "surname", values) != vault.blind_indexes(lab, "email", values)


def test_it_collides_on_purpose_at_the_expected_rate(db):
    records = 20_000
    lab = create_lab("sized", "Taille", "990000002", expected_patients=records)
    bits = vault.index_sizes(lab)[1]["nir"]
    values = [f"1{i:014d}" for i in range(records)]
    buckets = len(set(vault.blind_indexes(lab, "nir", values)))
    # 20,000 values into 2^13 buckets fill nearly all of them: about C = 2.4 share each.
    assert buckets > 0.9 * 2**bits
    assert 2 <= records / buckets < math.sqrt(records)


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
    sizes = vault.index_sizes(lab)
    rotate_lab(lab)
    keyring.forget()
    assert vault.derive_key(lab, "journal-chain") == chain
    assert vault.blind_index(lab, "nir", "284029912345611") == before
    assert vault.index_sizes(lab) == sizes
