"""The backend loading each request's user with its membership (issue 25): one query, and
the same authority as before, withdrawn at the very next request."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from etanche.accounts import services
from etanche.accounts.backends import PRIMARY, MembershipBackend
from etanche.accounts.models import Membership, Role
from tests.personas import sign_in


def _uncached(user):
    return Membership.objects.active().filter(user=user).select_related("lab").first()


def test_it_loads_the_user_and_its_membership_in_one_query(world):
    with CaptureQueriesContext(connection) as queries:
        user = MembershipBackend().get_user(world.frontdesk.pk)
        membership = services.primary_membership(user)
        assert membership.lab.slug == "lab-a"
    assert len(queries.captured_queries) == 1
    assert membership.user is user


def test_it_picks_the_membership_the_uncached_query_picks(world):
    # Two labs: the first by slug, as primary_membership always chose.
    Membership.objects.create(user=world.other_frontdesk, lab=world.lab_a, role=Role.AUDITOR)
    people = [*world.in_lab_a.values(), *world.in_lab_b.values(), world.outsider]
    for person in people:
        loaded = MembershipBackend().get_user(person.pk)
        assert getattr(loaded, PRIMARY) == _uncached(person), person.username
    assert services.primary_membership(
        MembershipBackend().get_user(world.other_frontdesk.pk)).lab == world.lab_a


def test_an_outsider_is_loaded_without_authority(world):
    user = MembershipBackend().get_user(world.outsider.pk)
    assert user == world.outsider
    assert services.primary_membership(user) is None


def test_a_deactivated_account_is_not_loaded(world):
    world.frontdesk.is_active = False
    world.frontdesk.save(update_fields=["is_active"])
    assert MembershipBackend().get_user(world.frontdesk.pk) is None


def test_a_withdrawn_membership_takes_effect_at_the_next_request(client, world):
    sign_in(client, world.frontdesk)
    assert client.get("/patients/").status_code == 200
    Membership.objects.filter(user=world.frontdesk).update(is_active=False)
    assert client.get("/patients/").status_code == 403


def test_a_deactivated_account_is_logged_out_at_the_next_request(client, world):
    sign_in(client, world.frontdesk)
    assert client.get("/compte/").status_code == 200
    world.frontdesk.is_active = False
    world.frontdesk.save(update_fields=["is_active"])
    assert client.get("/compte/")["Location"].startswith("/login/")


def test_a_member_of_lab_b_acts_in_lab_b_only(client, world):
    sign_in(client, world.other_frontdesk)
    client.get("/patients/")
    response = client.get("/patients/")
    assert response.wsgi_request.membership.lab == world.lab_b
