"""seal/unseal: round trip, binding to lab/type/row/schema, tamper detection."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etanche.vault import services as vault
from tests.sealedapp.models import Note, Person

SYNTHETIC = {
    "birth_name": "LEFEBVRE-TESTARD",
    "first_names": ["Anaïs", "Zoé"],
    "birth_date": "1984-02-29",
    "nir": "284029912345611",
    "phone": "+33639981234",
    "notes": "Traitement anticoagulant (synthétique)",
}

dates = st.dates().map(lambda d: d.isoformat())
leaves = st.one_of(st.text(), dates, st.none(), st.integers(-(2**53), 2**53), st.booleans())
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
identities = st.dictionaries(st.text(min_size=1, max_size=20), values, max_size=8)
hypothesis_db = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@hypothesis_db
@given(fields=identities, record_id=st.integers(min_value=1, max_value=2**63 - 1))
def test_it_unseals_what_it_sealed(lab, fields, record_id):
    token = vault.seal(lab, "sealedapp.person", record_id, fields)
    assert vault.unseal(lab, "sealedapp.person", record_id, token) == fields


@hypothesis_db
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_it_refuses_a_token_with_any_byte_changed(lab, position, flip):
    token = bytearray(vault.seal(lab, "sealedapp.person", 7, SYNTHETIC))
    token[position % len(token)] ^= flip
    with pytest.raises(vault.VaultError):
        vault.unseal(lab, "sealedapp.person", 7, bytes(token))


def test_it_refuses_a_truncated_token(lab):
    token = vault.seal(lab, "sealedapp.person", 7, SYNTHETIC)
    with pytest.raises(vault.TamperedData):
        vault.unseal(lab, "sealedapp.person", 7, token[:-1])
    with pytest.raises(vault.TamperedData):
        vault.unseal(lab, "sealedapp.person", 7, b"")


def test_it_refuses_a_token_moved_to_another_row(lab):
    token = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    with pytest.raises(vault.TamperedData) as error:
        vault.unseal(lab, "sealedapp.person", 2, token)
    assert "moved" in str(error.value)


def test_it_refuses_a_token_moved_to_another_record_type(lab):
    token = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    with pytest.raises(vault.TamperedData):
        vault.unseal(lab, "sealedapp.note", 1, token)


def test_it_refuses_a_token_moved_to_another_lab(lab, other_lab):
    token = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    with pytest.raises(vault.TamperedData):
        vault.unseal(other_lab, "sealedapp.person", 1, token)


def test_it_binds_the_schema_version(lab):
    token = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC, schema_version=2)
    assert vault.unseal(lab, "sealedapp.person", 1, token, schema_version=2) == SYNTHETIC
    with pytest.raises(vault.TamperedData):
        vault.unseal(lab, "sealedapp.person", 1, token, schema_version=1)
    forged = token[:5] + (1).to_bytes(2, "big") + token[7:]
    with pytest.raises(vault.TamperedData):
        vault.unseal(lab, "sealedapp.person", 1, forged, schema_version=1)


def test_it_records_the_key_version_and_encrypts_randomly(lab):
    first = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    second = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    assert vault.token_key_version(first) == 1
    assert first != second
    assert SYNTHETIC["nir"].encode() not in first


def test_it_refuses_values_that_are_not_json_without_quoting_them(lab):
    import datetime

    with pytest.raises(vault.VaultError) as error:
        vault.seal(lab, "sealedapp.person", 1, {"birth_date": datetime.date(1984, 2, 29)})
    assert "1984" not in str(error.value)
    with pytest.raises(vault.VaultError):
        vault.seal(lab, "sealedapp.person", 1, {3: "x"})


def test_it_refuses_to_seal_without_a_record_id(lab):
    with pytest.raises(vault.VaultError):
        vault.seal(lab, "sealedapp.person", None, SYNTHETIC)


def test_it_seals_many_records_each_bound_to_its_row(lab):
    items = [(i, {**SYNTHETIC, "n": i}) for i in range(1, 51)]
    tokens = vault.seal_many(lab, "sealedapp.person", items)
    opened = [
        vault.unseal(lab, "sealedapp.person", i, token)["n"]
        for (i, _), token in zip(items, tokens, strict=True)
    ]
    assert opened == [i for i, _ in items]
    with pytest.raises(vault.TamperedData):
        vault.unseal(lab, "sealedapp.person", 2, tokens[0])


def test_a_bound_shared_by_a_batch_seals_as_each_pair_bound_alone(lab):
    bound = {"revision": 1, "merged_into_id": None}
    items = [(i, {**SYNTHETIC, "n": i}) for i in range(1, 6)]
    shared = vault.seal_many(lab, "sealedapp.person", items, bound=bound)
    own = vault.seal_many(lab, "sealedapp.person", [(i, f, bound) for i, f in items])
    for (i, _), a, b in zip(items, shared, own, strict=True):
        assert vault.unseal(lab, "sealedapp.person", i, a, bound=bound) == \
            vault.unseal(lab, "sealedapp.person", i, b, bound=bound)
        with pytest.raises(vault.TamperedData):
            vault.unseal(lab, "sealedapp.person", i, a, bound={**bound, "revision": 2})
        with pytest.raises(vault.TamperedData):  # not the pairs' empty bound either
            vault.unseal(lab, "sealedapp.person", i, a)


def test_it_refuses_a_lab_without_keys(db):
    from etanche.labs.models import Lab

    bare = Lab.objects.create(slug="bare", name="Sans clés", finess="990000028")
    with pytest.raises(vault.LabKeysMissing) as error:
        vault.seal(bare, "sealedapp.person", 1, SYNTHETIC)
    assert "etanche labs create" in str(error.value)


def test_it_seals_model_rows_before_they_are_saved(lab):
    person = Person(lab=lab)
    assert person.pk  # known before the INSERT, so the AD can bind it
    person.set_sealed(SYNTHETIC)
    person.save()
    stored = Person.objects.get(pk=person.pk)
    assert stored.key_version == 1
    assert stored.get_sealed() == SYNTHETIC


def test_it_detects_a_sealed_column_copied_between_model_rows(lab):
    alice, bob = Person(lab=lab), Person(lab=lab)
    alice.set_sealed(SYNTHETIC)
    bob.set_sealed({**SYNTHETIC, "birth_name": "AUTRE"})
    Person.objects.bulk_create([alice, bob])
    Person.objects.filter(pk=bob.pk).update(sealed=alice.sealed)
    with pytest.raises(vault.TamperedData):
        Person.objects.get(pk=bob.pk).get_sealed()
    note = Note(lab=lab, sealed=alice.sealed, key_version=1, id=alice.pk)
    with pytest.raises(vault.TamperedData):
        note.get_sealed()


def test_it_keeps_keys_cached_per_lab_instead_of_unwrapping_per_call(
    lab, settings, django_assert_num_queries
):
    settings.VAULT_RECHECK_SECONDS = 60
    vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    with django_assert_num_queries(0):
        for i in range(20):
            token = vault.seal(lab, "sealedapp.person", i, SYNTHETIC)
            assert vault.unseal(lab, "sealedapp.person", i, token) == SYNTHETIC
