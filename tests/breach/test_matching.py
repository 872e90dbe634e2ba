"""What matching unseals: only candidates that could still reach MATCH_SCORE."""

import pytest

from etanche.breach import matching
from etanche.breach.matching import Keys, match_batch
from etanche.patients import bulk, indexing
from etanche.patients.indexing import name_search_key
from etanche.patients.models import Patient
from etanche.synthetic import people


def keys_of_env(env: dict, *, nir: str | None = None) -> Keys:
    """A leaked row's keys as keys_of would make them from a clean row."""
    return Keys(nir=env["ins"] if nir is None else nir,
                surnames=[name_search_key(env["birth_name"])],
                first_name=name_search_key(env["first_names"][0]),
                birth_date=env["birth_date"], phones=list(env["phones"]),
                emails=[env["email"].lower()] if env["email"] else [])


@pytest.fixture
def opened(monkeypatch):
    """The ids of the records match_batch unseals."""
    seen: list[int] = []
    real = matching.open_values

    def spy(rows):
        rows = list(rows)
        seen.extend(row[0] for row in rows)
        return real(rows)

    monkeypatch.setattr(matching, "open_values", spy)
    return seen


def test_a_record_whose_nir_contradicts_the_row_cannot_reach_the_match_score():
    """The bound _candidates relies on to leave such a record sealed, checked on score()."""
    assert matching.NIR_CONTRADICTED_MAX < matching.MATCH_SCORE
    env = next(people.envelopes(1, seed=4))
    other = next(people.envelopes(1, seed=5))["ins"]
    points, evidence = matching.score(keys_of_env(env, nir=other), env)
    assert "name_dob" in evidence and "first_name" in evidence
    assert points <= matching.NIR_CONTRADICTED_MAX < matching.MATCH_SCORE


def test_namesakes_born_the_same_day_with_other_nirs_are_not_unsealed(world, opened):
    """A foreign row shares its name and date index with a patient but not its NIR: the
    patient's record stays sealed, and the row matches nobody."""
    mine = list(people.envelopes(20, seed=71))
    bulk.bulk_register(world.lab_a, iter(mine))
    strangers = list(people.envelopes(20, seed=72))
    batch = [keys_of_env(env, nir=stranger["ins"])
             for env, stranger in zip(mine, strangers, strict=True)]
    assert match_batch(world.lab_a, batch) == [None] * 20
    # A blind index is a truncated HMAC: a stranger's NIR may share its patient's bucket
    # (one chance in 2^bits, with a random key each run). Only such a record may be opened.
    mine_nirs, _ = indexing.compute(world.lab_a.pk, mine)
    their_nirs, _ = indexing.compute(world.lab_a.pk, strangers)
    colliding = {a["nir"] for a, b in zip(mine_nirs, their_nirs, strict=True)
                 if a["nir"] == b["nir"]}
    opened_nirs = set(Patient.objects.filter(pk__in=opened).values_list("nir_index", flat=True))
    assert opened_nirs <= colliding


def test_a_record_without_nir_still_matches_a_row_with_one(world, opened):
    """No NIR on the record is no contradiction: the name and date still match it."""
    env = dict(next(people.envelopes(1, seed=73)), ins="", ins_oid="")
    bulk.bulk_register(world.lab_a, iter([env]))
    stranger_nir = next(people.envelopes(1, seed=74))["ins"]
    [match] = match_batch(world.lab_a, [keys_of_env(env, nir=stranger_nir)])
    assert match is not None and "name_dob" in match.evidence
    assert len(opened) == 1


def test_the_patient_is_unsealed_once_when_every_index_agrees(world, opened):
    mine = list(people.envelopes(30, seed=75))
    bulk.bulk_register(world.lab_a, iter(mine))
    matches = match_batch(world.lab_a, [keys_of_env(env) for env in mine])
    assert all(m is not None and {"nir", "name_dob"} <= set(m.evidence) for m in matches)
    assert len(set(m.patient_id for m in matches)) == 30
    assert len(opened) == 30
