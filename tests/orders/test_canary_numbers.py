"""A canary's request number: real-looking, never taken from the lab's counter (issue 24.3)."""

import re

import pytest
from django.utils import timezone

from etanche.orders import services
from etanche.orders.models import Order, OrderCounter
from tests.orders.helpers import make_order

pytestmark = pytest.mark.usefixtures("front_office")


def _last(world):
    return OrderCounter.objects.get(lab_id=world.lab_a.pk, year=timezone.localdate().year).last


def test_a_canary_number_moves_no_counter_and_the_next_request_skips_it(world):
    year = timezone.localdate().year
    before = _last(world)
    number = services.canary_number(world.lab_a, timezone.now())
    assert re.fullmatch(rf"{year}-\d{{6}}", number)
    assert _last(world) == before
    # No gap among today's requests: the number just past the counter, held for the canary.
    assert number == f"{year}-{before + 1:06d}"
    real = make_order(world.lab_a, world.frontdesk, world.patient, tests=["1104"])
    assert real.number == f"{year}-{before + 2:06d}"


def test_a_canary_takes_a_number_a_rolled_back_request_skipped(world):
    year = timezone.localdate().year
    for _ in range(3):
        make_order(world.lab_a, world.frontdesk, world.patient, tests=["1104"])
    # A skipped number, as a rolled-back request leaves: 2 is given to no request.
    Order.objects.filter(number=f"{year}-000002").delete()
    before = _last(world)
    assert services.canary_number(world.lab_a, timezone.now()) == f"{year}-000002"
    assert _last(world) == before
    # Two canaries never share a number.
    assert services.canary_number(world.lab_a, timezone.now()) == f"{year}-{before + 1:06d}"


def test_canaries_of_another_year_start_a_counter_without_moving_it(world):
    year = timezone.localdate().year + 1
    moment = timezone.now().replace(year=year)
    assert services.canary_number(world.lab_a, moment) == f"{year}-000001"
    assert services.next_number(world.lab_a, year) == f"{year}-000002"
