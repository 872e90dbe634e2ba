"""From an alert's page, a breach case: opened once, linked both ways, journaled."""

import json

import pytest
from django.utils import timezone

from etanche.breach.models import BreachCase
from etanche.journal.models import Action, Entry
from etanche.watch import alerts, rules
from etanche.watch.models import Alert
from tests.personas import sign_in

pytestmark = pytest.mark.django_db


def _alert(world):
    return alerts.hit(world.lab_a.pk, rules.get("bulk-reads"), at=timezone.now(),
                      user_id=world.frontdesk.pk, count=60)


def test_the_dpo_opens_one_breach_case_from_an_alert(client, world):
    alert = _alert(world)
    sign_in(client, world.dpo)
    page = client.get(f"/alertes/{alert.pk}/")
    assert "Ouvrir un dossier de violation" in page.content.decode()
    response = client.post(f"/alertes/{alert.pk}/violation/")
    case = BreachCase.objects.get(lab=world.lab_a)
    assert response.status_code == 302 and response.url == f"/alertes/{alert.pk}/"
    assert Alert.objects.get(pk=alert.pk).breach_case_id == case.pk
    sealed = case.get_sealed()
    assert f"Alerte n° {alert.pk}" in sealed["title"]
    assert f"alerte n° {alert.pk}" in sealed["notes"][0]["text"]
    linked = Entry.objects.filter(lab_id=world.lab_a.pk, action=Action.ALERT_TRIAGE,
                                  object_id=str(alert.pk))
    assert [e for e in linked if json.loads(e.detail or "{}").get("breach_case") == case.pk]
    # Once: a second post leads to the same case, and the alert's page links it.
    again = client.post(f"/alertes/{alert.pk}/violation/")
    assert again.url == f"/alertes/{alert.pk}/" and BreachCase.objects.count() == 1
    assert f"/violations/{case.pk}/" in client.get(f"/alertes/{alert.pk}/").content.decode()


def test_a_link_refused_leaves_no_case_behind(client, world, monkeypatch):
    alert = _alert(world)

    def refuse(*args, **kwargs):
        raise alerts.AlertError("Un dossier de violation est déjà ouvert pour cette alerte.")

    monkeypatch.setattr(alerts, "link_breach_case", refuse)
    sign_in(client, world.dpo)
    response = client.post(f"/alertes/{alert.pk}/violation/")
    assert response.status_code == 302 and response.url == f"/alertes/{alert.pk}/"
    assert not BreachCase.objects.exists()
    assert Alert.objects.get(pk=alert.pk).breach_case_id is None
