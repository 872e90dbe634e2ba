"""Issue 24, item 6: after re-authentication the action is done, not to be clicked again."""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.accounts.models import SealedTOTPDevice
from etanche.exports.models import Status
from tests.exports.helpers import requested
from tests.personas import sign_in, totp_now

pytestmark = pytest.mark.usefixtures("with_patients")
PASSWORD = "Cheval-agrafe-batterie-7!"  # noqa: S105


def _approver(world):
    world.biologist.set_password(PASSWORD)
    world.biologist.save(update_fields=["password"])
    return sign_in(Client(), world.biologist, sudo=False)


def test_approving_without_a_fresh_login_approves_right_after_it(world, key):
    export = requested(world, key[1])
    client = _approver(world)
    detail = reverse("export_detail", args=[export.pk])
    response = client.post(reverse("export_approve", args=[export.pk]),
                           HTTP_REFERER=f"http://testserver{detail}")
    assert response["Location"].startswith("/compte/confirmation/?next=")
    page = client.get(response["Location"]).content.decode()
    assert "sera effectuée dès la confirmation" in page
    device = SealedTOTPDevice.objects.get(user=world.biologist)
    done = client.post("/compte/confirmation/", {"password": PASSWORD, "code": totp_now(device),
                                                 "next": detail})
    assert done.status_code == 302 and done["Location"] == detail
    export.refresh_from_db()
    assert export.status == Status.APPROVED and export.decided_by == world.biologist


def test_a_re_authentication_for_something_else_replays_nothing(world, key):
    export = requested(world, key[1])
    client = _approver(world)
    detail = reverse("export_detail", args=[export.pk])
    client.post(reverse("export_approve", args=[export.pk]),
                HTTP_REFERER=f"http://testserver{detail}")
    device = SealedTOTPDevice.objects.get(user=world.biologist)
    client.post("/compte/confirmation/", {"password": PASSWORD, "code": totp_now(device),
                                          "next": "/compte/"})
    export.refresh_from_db()
    assert export.status == Status.REQUESTED
