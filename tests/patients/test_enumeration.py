"""Issue 16, item 7: stolen front-office credentials must not list the whole lab.

The attack: 5,364 name-only searches over the shipped surname list listed 2,000 of
2,002 patients in 90 seconds. Now searches and patient reads are rate-limited per
account (HTTP 429, a French message), and a name without a birth date lists no one
once more than a few records carry it.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from etanche.accounts.models import UsageCounter
from etanche.journal.models import Entry
from tests.orders.helpers import make_patient
from tests.personas import sign_in

SURNAMES = ["Le Goff", "Tanguy", "Le Gall", "Kerjean", "Martin", "Bernard", "Dubois",
            "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
            "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux"]
FIRST_NAMES = ["Anne", "Yann", "Soizic", "Erwan", "Nolwenn", "Gaël", "Maïwenn", "Loïc"]


@pytest.fixture
def lab(world):
    # Eight people called Le Goff, two called Tanguy: a common name and a rare one.
    world.le_goff = [make_patient(world.lab_a, world.frontdesk, birth_name="Le Goff",
                                  first_names=[first], birth_date=f"19{60 + i}-0{1 + i}-1{i}")
                     for i, first in enumerate(FIRST_NAMES)]
    world.tanguy = [make_patient(world.lab_a, world.frontdesk, birth_name="Tanguy",
                                 first_names=[first], birth_date=f"198{i}-05-2{i}")
                    for i, first in enumerate(FIRST_NAMES[:2])]
    return world


def _listed(response) -> set[str]:
    return set(re.findall(r'href="/patients/(\d+)/"', response.content.decode()))


def test_a_script_of_surname_searches_is_stopped_and_lists_no_more_than_the_cap(lab, settings):
    settings.ETANCHE_SEARCH_PER_MINUTE = 10
    thief = sign_in(Client(), lab.frontdesk)
    statuses, listed = [], set()
    for _ in range(3):
        for surname in SURNAMES:
            response = thief.post(reverse("patient_search"), {"name": surname})
            statuses.append(response.status_code)
            found = _listed(response)
            assert len(found) <= settings.ETANCHE_SEARCH_NAME_ONLY_MAX
            listed |= found
    assert statuses[:10] == [200] * 10 and set(statuses[10:]) == {429}
    refused = thief.post(reverse("patient_search"), {"name": "Tanguy"})
    assert refused.status_code == 429 and refused.has_header("Retry-After")
    assert "Trop de recherches" in refused.content.decode()
    # Only the rare name was listed; the eight Le Goff never were.
    assert listed == {str(p.pk) for p in lab.tanguy}
    # The counters hold an account id and numbers, nothing else.
    assert set(UsageCounter.objects.values_list("user_id", flat=True)) == {lab.frontdesk.pk}


def test_a_common_name_alone_asks_for_the_birth_date(lab):
    desk = sign_in(Client(), lab.frontdesk)
    alone = desk.post(reverse("patient_search"), {"name": "le goff"})
    assert alone.status_code == 200 and _listed(alone) == set()
    assert "Précisez la date de naissance" in alone.content.decode()
    entry = Entry.objects.filter(lab_id=lab.lab_a.pk, action="search").last()
    assert '"shown":[]' in entry.detail.replace(" ", "")
    first = lab.le_goff[0]
    precise = desk.post(reverse("patient_search"), {"name": "Le Goff", "birth_date": "1960-01-10"})
    assert _listed(precise) == {str(first.pk)}
    # Name and first name without the date are still a name alone.
    with_first = desk.post(reverse("patient_search"), {"name": "Le Goff", "first_name": "Anne"})
    assert _listed(with_first) == {str(first.pk)}


def test_patient_reads_are_rate_limited_per_account(lab, settings):
    settings.ETANCHE_PATIENT_READS_PER_MINUTE = 5
    desk = sign_in(Client(), lab.frontdesk)
    url = reverse("patient_detail", kwargs={"pk": lab.tanguy[0].pk})
    statuses = [desk.get(url).status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    # Another account of the lab is not held up by this one.
    assert sign_in(Client(), lab.biologist).get(url).status_code == 200


def test_the_window_slides(lab, settings):
    settings.ETANCHE_SEARCH_PER_MINUTE = 2
    desk = sign_in(Client(), lab.frontdesk)
    for _ in range(2):
        assert desk.post(reverse("patient_search"), {"name": "Tanguy"}).status_code == 200
    assert desk.post(reverse("patient_search"), {"name": "Tanguy"}).status_code == 429
    # Two minutes later the previous window no longer weighs.
    for counter in UsageCounter.objects.all():
        counter.window_start = counter.window_start.replace(year=counter.window_start.year - 1)
        counter.save()
    assert desk.post(reverse("patient_search"), {"name": "Tanguy"}).status_code == 200
