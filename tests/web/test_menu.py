"""Issue 24, item 6: a menu per role, and a badge for what awaits the person."""

import pytest
from django.test import Client

from tests.exports.helpers import age_key, requested
from tests.personas import sign_in

pytestmark = pytest.mark.django_db


def _nav(client) -> str:
    page = client.get("/").content.decode()
    return page.split("<nav>")[1].split("</nav>")[0]


def test_each_role_sees_its_own_links(world):
    frontdesk = _nav(sign_in(Client(), world.frontdesk))
    assert ">Patients<" in frontdesk and "Exports" not in frontdesk and "Journal" not in frontdesk
    dpo = _nav(sign_in(Client(), world.dpo))
    assert "Exports" in dpo and "Journal" in dpo


def test_a_dpo_is_told_an_approval_waits(world):
    requested(world, age_key()[1])  # asked by the lab admin
    client = sign_in(Client(), world.dpo)
    assert '<span class="badge" title="En attente de votre décision">1</span>' in _nav(client)
    assert "1 export attend votre décision" in client.get("/").content.decode()
    # The requester is not asked to approve their own request.
    own = sign_in(Client(), world.labadmin)
    assert 'class="badge"' not in _nav(own)
