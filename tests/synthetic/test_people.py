import collections
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from etanche.patients import nir, validators
from etanche.patients.bloodgroups import FRANCE_PERCENT, normalize_blood_group
from etanche.patients.names import check_name
from etanche.synthetic import people as synthetic


def assert_valid(person: synthetic.SyntheticIdentity) -> None:
    check = nir.check_ins(
        person.ins,
        sex=person.sex,
        birth_date=person.birth_date,
        birthplace_code=person.birthplace_code,
        oid=person.ins_oid,
    )
    assert check.warnings == ()
    assert nir.check_birthplace_code(person.birthplace_code).label == person.birthplace_label
    validators.check_birth_date(person.birth_date)
    assert validators.normalize_phone(person.phone) == person.phone
    assert not person.landline or validators.normalize_phone(person.landline) == person.landline
    assert validators.normalize_email(person.email) == person.email
    assert validators.check_rpps(person.physician_rpps) == person.physician_rpps
    assert normalize_blood_group(person.blood_group) == person.blood_group
    for name in (person.birth_name, person.used_name, person.used_first_name, *person.first_names):
        check_name(name)
    assert person.used_first_name == person.first_names[0]


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_it_only_produces_identities_that_pass_every_validator(seed):
    for person in synthetic.generate(60, seed=seed):
        assert_valid(person)


def test_it_is_deterministic_for_a_seed_whatever_the_count():
    assert synthetic.generate(50, seed=42) == synthetic.generate(50, seed=42)
    assert synthetic.generate(3000, seed=42)[:50] == synthetic.generate(50, seed=42)
    assert synthetic.generate(50, seed=43) != synthetic.generate(50, seed=42)


def test_it_marks_every_ins_as_demo_and_uses_fiction_contacts():
    for person in synthetic.generate(500, seed=5):
        assert person.ins_oid == nir.INS_OID_DEMO == "1.2.250.1.213.1.4.11"
        assert person.phone[:8] in validators.FICTION_BLOCKS
        assert person.email.rsplit("@", 1)[1] in ("example.com", "example.org", "example.net")
        assert person.physician_rpps.startswith("99")
        assert "fictive" in person.amc_insurer or "imaginaire" in person.amc_insurer


def test_it_looks_like_france():
    people = synthetic.generate(20000, seed=11)
    assert len({p.ins for p in people}) == len(people)
    places = collections.Counter(
        "abroad" if p.birthplace_code.startswith("99")
        else "corsica" if p.birthplace_code[:2] in ("2A", "2B")
        else "overseas" if p.birthplace_code[:2] in ("97", "98")
        else "mainland"
        for p in people
    )  # fmt: skip
    assert 1500 < places["abroad"] < 2500
    assert places["corsica"] > 20 and places["overseas"] > 200
    surnames = collections.Counter(p.birth_name for p in people)
    assert surnames.most_common(1)[0][0] == "MARTIN"
    bloods = collections.Counter(p.blood_group for p in people)
    for group, percent in FRANCE_PERCENT.items():
        assert abs(bloods[group] / len(people) * 100 - percent) < 1.5
    sexes = collections.Counter(p.sex for p in people)
    assert abs(sexes["F"] - sexes["M"]) < 1000


def test_it_is_fast():
    start = time.perf_counter()
    count = sum(1 for _ in synthetic.iter_identities(50000, seed=1))
    elapsed = time.perf_counter() - start
    # 1,000,000 in under 2 minutes means 120 µs each; allow for a loaded CI machine.
    assert count == 50000 and elapsed / count < 120e-6


def test_it_says_it_never_makes_a_real_person_on_purpose():
    assert "never produces a real person's identity on purpose" in synthetic.__doc__
