"""Personal API tokens: repeated refusals warn, the token's lockout alerts (each)."""

import pytest

from etanche.accounts import tokens
from etanche.watch.models import Severity
from tests.fhir.helpers import token_for
from tests.watch.helpers import alerts_of, drain

pytestmark = pytest.mark.django_db


def _bearer(user, lab):
    bearer, why = tokens.authenticate(token_for(user, lab))
    assert bearer is not None, why
    return bearer


def _refuse(bearer, n):
    for _ in range(n):
        tokens.refused(bearer, what="GET Observation")


def test_refusals_just_below_the_threshold_raise_nothing(world):
    _refuse(_bearer(world.frontdesk, world.lab_a), 4)
    drain()
    assert alerts_of(world.lab_a, "api-denied") == []
    assert alerts_of(world.lab_a, "token-lockout") == []


def test_repeated_refusals_raise_one_alert_counting_them(world):
    bearer = _bearer(world.frontdesk, world.lab_a)
    _refuse(bearer, 5)
    drain()
    (alert,) = alerts_of(world.lab_a, "api-denied")
    assert alert.user_id == world.frontdesk.pk and alert.count == 5
    assert alert.subject == f"token:{bearer.token.pk}"
    _refuse(bearer, 2)
    drain()
    (alert,) = alerts_of(world.lab_a, "api-denied")
    assert alert.count == 7
    # Another token of the same person counts on its own.
    _refuse(_bearer(world.frontdesk, world.lab_a), 3)
    drain()
    assert len(alerts_of(world.lab_a, "api-denied")) == 1


def test_the_token_s_lockout_is_an_alert(world, settings):
    settings.ETANCHE_API_TOKEN_FAILURES = 3
    bearer = _bearer(world.biologist, world.lab_a)
    _refuse(bearer, 2)
    drain()
    assert alerts_of(world.lab_a, "token-lockout") == []
    _refuse(bearer, 1)
    drain()
    (alert,) = alerts_of(world.lab_a, "token-lockout")
    assert alert.severity == Severity.HIGH and alert.user_id == world.biologist.pk
    assert alert.subject == f"token:{bearer.token.pk}"
    assert alerts_of(world.lab_b, "token-lockout") == []
