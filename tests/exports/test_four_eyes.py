"""Four eyes: one person asks, a second with the approve permission decides."""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.exports import crypto
from etanche.exports import services as exports
from etanche.exports.models import Status
from etanche.journal.models import Action, Entry
from tests.exports.helpers import requested
from tests.personas import sign_in

pytestmark = pytest.mark.usefixtures("with_patients")


def test_the_requester_can_never_approve_their_own_request(world, key):
    export = requested(world, key[1], by=world.biologist)
    with pytest.raises(exports.ExportRefused, match="propre demande"):
        exports.approve_export(export, world.biologist)
    export.refresh_from_db()
    assert export.status == Status.REQUESTED
    denied = Entry.objects.filter(object_type="export", object_id=str(export.pk),
                                  action=Action.EXPORT_APPROVE, outcome="denied")
    assert denied.get().user_id == world.biologist.pk


@pytest.mark.parametrize("approver", ["frontdesk", "auditor", "outsider_admin"])
def test_only_roles_with_the_approve_permission_approve(world, key, approver):
    export = requested(world, key[1])
    with pytest.raises(exports.ExportRefused):
        exports.approve_export(export, getattr(world, approver))
    export.refresh_from_db()
    assert export.status == Status.REQUESTED


@pytest.mark.parametrize("approver", ["biologist", "dpo", "labadmin"])
def test_a_second_person_approves_and_the_file_is_produced(world, key, approver):
    export = requested(world, key[1], by=world.dpo if approver == "labadmin" else None)
    exports.approve_export(export, getattr(world, approver))
    export = exports.produce_export(export)
    assert export.status == Status.PRODUCED and export.decided_by == getattr(world, approver)
    path = crypto.exports_dir() / export.file_name
    assert path.stat().st_mode & 0o777 == 0o600
    import hashlib
    assert hashlib.sha256(path.read_bytes()).hexdigest() == export.sha256


def test_a_refusal_needs_a_reason_and_ends_the_request(world, key):
    export = requested(world, key[1])
    with pytest.raises(exports.ExportRefused):
        exports.refuse_export(export, world.dpo, "  ")
    exports.refuse_export(export, world.dpo, "Destinataire non identifié")
    export.refresh_from_db()
    assert export.status == Status.REFUSED
    assert exports.refusal_reason(export) == "Destinataire non identifié"
    with pytest.raises(exports.ExportRefused):
        exports.approve_export(export, world.biologist)
    with pytest.raises(exports.ExportRefused):
        exports.produce_export(export)


def test_an_unapproved_export_is_never_produced(world, key):
    export = requested(world, key[1])
    with pytest.raises(exports.ExportRefused):
        exports.produce_export(export)
    assert not list(crypto.exports_dir().glob(f"export-{export.pk}*"))


def test_the_web_approval_needs_a_fresh_reauthentication(world, key):
    export = requested(world, key[1])
    client = sign_in(Client(), world.biologist, sudo=False)
    response = client.post(reverse("export_approve", args=[export.pk]))
    assert response.status_code == 302 and response["Location"].startswith("/compte/")
    export.refresh_from_db()
    assert export.status == Status.REQUESTED


def test_the_web_refuses_the_requester_with_a_french_message(world, key):
    export = requested(world, key[1], by=world.dpo)
    client = sign_in(Client(), world.dpo, sudo=True)
    response = client.post(reverse("export_approve", args=[export.pk]), follow=True)
    assert "Le demandeur ne peut pas approuver" in response.content.decode()
    export.refresh_from_db()
    assert export.status == Status.REQUESTED


@pytest.mark.parametrize("bad", [
    {"recipient": "age1notakey"}, {"recipient": "AGE-SECRET-KEY-1QQQ"},
    {"expires": __import__("datetime").timedelta(days=31)}, {"downloads": 0},
    {"selection": "list", "ids": [123]}, {"profile": "everything"},
])
def test_it_refuses_bad_requests_in_french(world, key, bad):
    kwargs = {"recipient": key[1], **bad}
    recipient = kwargs.pop("recipient")
    with pytest.raises(exports.ExportRefused) as caught:
        requested(world, recipient, **kwargs)
    assert caught.value.message_dict


def test_subject_access_is_for_exactly_one_person(world, key):
    with pytest.raises(exports.ExportRefused, match="une seule personne"):
        requested(world, key[1], profile="subject-access", selection="all")
    ids = [p.pk for p in world.patients[:2]]
    with pytest.raises(exports.ExportRefused, match="une seule personne"):
        requested(world, key[1], profile="subject-access", selection="list", ids=ids)
