"""Key rotation re-seals alerts, staff identities and break-glass grants with their binding."""

import pytest
from django.utils import timezone

from etanche.vault import rotation
from etanche.watch import alerts, glass, privacy, rules
from etanche.watch.models import Alert, GlassGrant, GlassReason, StaffIdentity

pytestmark = pytest.mark.django_db


def test_rotation_reseals_what_watch_keeps(world):
    lab = world.lab_a
    alert = alerts.hit(lab.pk, rules.BY_ID["honeypot"], at=timezone.now(),
                       user_id=world.frontdesk.pk, patients=[42], entries=[(1, 2)])
    privacy.set_identity(lab, world.frontdesk.pk, birth_name="Le Goff",
                         birth_date="1990-05-04")
    glass.grant(lab, world.dpo, 7, reason=GlassReason.DPO_INQUIRY, text="Demande du patient")
    before = {m: m.objects.get().key_version for m in (Alert, StaffIdentity, GlassGrant)}
    rotation.rotate_lab(lab)
    for model, version in before.items():
        row = model.objects.get()
        assert row.key_version == version + 1
        row.get_sealed()
    assert Alert.objects.get(pk=alert.pk).get_sealed()["patients"] == [42]
