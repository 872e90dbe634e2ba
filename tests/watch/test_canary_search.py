"""Lab canaries in lists: only exact criteria that name no one else show one.

A canary's surname is free when it is seeded; a real patient may take it later. A
search by that surname (alone, with a first name, with a birth date) or the duplicate
check of that patient's registration must not list the canary nor raise an alert;
the canary's own NIR, phone, or whole identity do, and alert.
"""

import pytest

from etanche.patients import search
from etanche.patients import services as patients
from etanche.patients.models import Patient
from etanche.watch import canaries
from tests.orders.helpers import make_patient
from tests.watch.helpers import alerts_of, drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def canary(world):
    canaries.seed(world.lab_a, 1)
    (pid,) = canaries.canaries_among(world.lab_a, Patient.objects.for_lab(world.lab_a)
                                     .values_list("pk", flat=True))
    env = patients.get_patient(world.lab_a, None, pid).fields
    drain()
    return pid, env


def _ids(page):
    return [s.id for s in page.results]


def test_a_later_namesake_s_searches_never_list_the_canary(world, canary):
    pid, env = canary
    first = env["first_names"][0]
    real = make_patient(world.lab_a, world.frontdesk, birth_name=env["birth_name"],
                        first_names=[first], birth_date="1990-01-01").pk
    for criteria in ({"name": env["birth_name"]},
                     {"name": env["birth_name"], "first_name": first},
                     {"name": env["birth_name"], "birth_date": env["birth_date"]},
                     {"name": env["birth_name"].upper(), "first_name": first,
                      "birth_date": "1990-01-01"}):
        shown = _ids(search.search(world.lab_a, world.frontdesk, **criteria))
        assert pid not in shown, criteria
    assert real in _ids(search.search(world.lab_a, world.frontdesk, name=env["birth_name"]))
    drain()
    assert alerts_of(world.lab_a, "honeypot") == []


def test_a_namesake_born_the_same_day_registers_and_is_listed_alone(world, canary):
    pid, env = canary
    first = env["first_names"][0]
    data = {"birth_name": env["birth_name"], "first_names": [first],
            "birth_date": env["birth_date"], "sex": env["sex"], "birthplace_code": "35238"}
    assert patients.find_duplicates(world.lab_a, data, user=world.frontdesk) == []
    real = make_patient(world.lab_a, world.frontdesk, **data).pk
    page = search.search(world.lab_a, world.frontdesk, name=env["birth_name"],
                         first_name=first, birth_date=env["birth_date"])
    assert _ids(page) == [real]
    drain()
    assert alerts_of(world.lab_a, "honeypot") == []


@pytest.mark.parametrize("how", ["nir", "phone", "identity"])
def test_exact_criteria_list_the_canary_and_alert(world, canary, how):
    pid, env = canary
    criteria = {"nir": {"nir": env["ins"]},
                "phone": {"phone": (env.get("phones") or [""])[0]},
                "identity": {"name": env["birth_name"], "first_name": env["first_names"][0],
                             "birth_date": env["birth_date"]}}[how]
    if not next(iter(criteria.values())):
        pytest.skip("this canary drew no phone")
    assert _ids(search.search(world.lab_a, world.frontdesk, **criteria)) == [pid]
    drain()
    (alert,) = alerts_of(world.lab_a, "honeypot")
    assert alert.user_id == world.frontdesk.pk and alert.get_sealed()["patients"] == [pid]


def test_the_filter_alone(world, canary):
    pid, _ = canary
    leave_out = canaries.left_out_of_lists
    assert leave_out(world.lab_a, [pid], criteria=["name"]) == {pid}
    assert leave_out(world.lab_a, [pid], criteria=["name", "first_name"]) == {pid}
    assert leave_out(world.lab_a, [pid], criteria=["duplicates"]) == {pid}
    assert leave_out(world.lab_a, [pid], criteria=["name", "first_name", "birth_date"],
                     phonetic=True) == {pid}
    assert leave_out(world.lab_a, [pid], criteria=["nir"]) == set()
    assert leave_out(world.lab_a, [pid, pid + 10_000], criteria=["nir"]) == {pid}
    assert leave_out(world.lab_b, [pid], criteria=["name"]) == set()
