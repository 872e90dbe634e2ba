"""Blind indexes sized per lab: labs of different sizes search exactly, a lab from before
per-lab sizing keeps its 12-bit values, and the duplicate check and bulk path agree."""

import hashlib
import hmac
import importlib

import pytest
from django.apps import apps

from etanche.ops.labs import create_lab
from etanche.patients import services as patients
from etanche.patients.bulk import bulk_register
from etanche.patients.models import Patient, PatientIndex
from etanche.synthetic.people import envelopes
from etanche.vault import indexes, keyring
from etanche.vault import services as vault
from etanche.vault.models import LabKeyset
from tests.patients.people import person

COLUMNS = ["nir", "ins", "birth_name_dob", "used_name_dob", "phonetic_dob", "email"]


def _fits(lab) -> None:
    """Every stored index value of the lab fits the bits the vault fixed for it."""
    _, bits = vault.index_sizes(lab)
    for name in COLUMNS:
        values = Patient.objects.filter(lab=lab).exclude(**{f"{name}_index": None})
        top = max(values.values_list(f"{name}_index", flat=True))
        assert 0 <= top < 2 ** bits[name], name
    for name in ("surname", "phone"):
        top = max(PatientIndex.objects.filter(lab=lab, name=name).values_list("value", flat=True))
        assert 0 <= top < 2 ** bits[name], name


def _searches_find(lab, pid, data) -> None:
    for criteria in ({"nir": data["nir"]}, {"name": data["birth_name"]},
                     {"phone": data["phone"]},
                     {"name": data["birth_name"], "birth_date": data["birth_date"]}):
        page = patients.search(lab, None, **criteria)
        assert [s.id for s in page.results] == [pid], criteria


@pytest.fixture
def small_and_large(db):
    small = create_lab("petit", "Petit laboratoire", "990000002", expected_patients=1_000)
    large = create_lab("grand", "Grand laboratoire", "990000010", expected_patients=50_000_000)
    return small, large


def test_it_searches_exactly_in_labs_of_different_sizes(small_and_large):
    small, large = small_and_large
    assert vault.index_sizes(small)[1]["nir"] == 8
    assert vault.index_sizes(large)[1]["nir"] == 24
    for lab in (small, large):
        bulk_register(lab, envelopes(400, 11))
        data = person()
        pid = patients.register_patient(lab, None, data).id
        _fits(lab)
        _searches_find(lab, pid, data)
        # The duplicate check goes through the same sizes: the same person is caught.
        with pytest.raises(patients.DuplicatePatient):
            patients.register_patient(lab, None, dict(data))
    # 400 rows in 2^8 buckets share values; in 2^24 they almost never do.
    small_nirs = Patient.objects.filter(lab=small).values_list("nir_index", flat=True)
    large_nirs = Patient.objects.filter(lab=large).values_list("nir_index", flat=True)
    assert len(set(small_nirs)) < 256 < len(set(large_nirs))


def test_it_keeps_a_lab_from_before_per_lab_sizing_on_its_12_bit_values(db):
    lab = create_lab("ancien", "Ancien laboratoire", "990000002")
    data = person()
    # The lab as it stood before migration vault.0002: its PRF row has no sizes yet...
    LabKeyset.objects.filter(lab=lab, kind="prf").update(expected_records=None, index_bits={})
    migration = importlib.import_module("etanche.vault.migrations.0002_index_sizes")
    migration.keep_legacy_sizes(apps, None)  # ...then the migration runs.
    keyring.forget()
    assert vault.index_sizes(lab) == (None, dict.fromkeys(indexes.INDEXES, 12))
    bulk_register(lab, envelopes(200, 5))
    pid = patients.register_patient(lab, None, data).id
    _fits(lab)
    _searches_find(lab, pid, data)
    # The value is what the 12-bit code stored: first 12 bits of HMAC-SHA256 under the
    # index key, so rows indexed before the change still match.
    key = keyring.get(lab).index_key("nir")
    old = int.from_bytes(hmac.new(key, data["nir"].encode(), hashlib.sha256).digest()[:8],
                         "big") >> 52
    assert Patient.objects.get(pk=pid).nir_index == old


def test_it_packs_registration_lock_keys_apart_within_a_signed_32_bit_int():
    from etanche.patients.services import LOCK_RANK_SHIFT, LOCKED_INDEXES

    largest = 2 ** indexes.MAX_BITS - 1
    assert max(indexes.plan(indexes.MAX_EXPECTED).values()) <= indexes.MAX_BITS
    ranges = [(rank << LOCK_RANK_SHIFT, rank << LOCK_RANK_SHIFT | largest)
              for rank in range(1, len(LOCKED_INDEXES) + 1)]
    assert ranges[-1][1] < 2**31  # pg_advisory_xact_lock(int4, int4)
    assert all(high < low for (_, high), (low, _) in zip(ranges, ranges[1:], strict=False))
