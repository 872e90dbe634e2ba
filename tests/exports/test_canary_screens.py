"""Canaries where they do no harm (issue 24, item 3): none in a person's own data; for a
migration or transfer, the approver is told the canary's identifier to pass on out of band,
its requests use up no real request number, and the screens say what the file holds."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from etanche.exports import services as exports
from etanche.orders.models import OrderCounter
from etanche.watch.models import Canary
from tests.exports.helpers import produced, requested
from tests.personas import sign_in

pytestmark = pytest.mark.usefixtures("with_patients")


def _counter(world):
    return OrderCounter.objects.get(lab_id=world.lab_a.pk, year=timezone.localdate().year).last


def test_a_subject_access_answer_holds_the_person_only(world, key):
    export = produced(world, key[1], profile="subject-access", fmt="csv", selection="list",
                      ids=[world.patients[0].pk])
    assert export.rows == 1
    assert not Canary.objects.filter(export_id=export.pk).exists()
    assert exports.holds(export) == "1 patient"
    page = sign_in(Client(), world.dpo).get(
        reverse("export_detail", args=[export.pk])).content.decode()
    assert "sans traceur" in page and "Traceur à signaler" not in page


def test_the_approver_is_shown_the_migration_canary_and_no_number_is_used_up(world, key):
    export = requested(world, key[1], profile="migration")
    before = _counter(world)
    client = sign_in(Client(), world.biologist, sudo=True)
    page = client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "sera affiché ici" in page
    client.post(reverse("export_approve", args=[export.pk]))
    canary = Canary.objects.get(export_id=export.pk)
    page = client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "Traceur à signaler au destinataire" in page
    assert str(canary.pk) in page
    if canary.request_number:
        assert canary.request_number in page
    assert _counter(world) == before  # the canary's requests took no number from the counter
    done = exports.produce_export(export)
    assert done.rows == len(world.patients) + 1
    assert exports.holds(done) == f"{len(world.patients)} patients + 1 traceur"
    page = client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert f"{len(world.patients)} patients + 1 traceur" in page


def test_a_research_canary_stays_secret(world, key):
    export = produced(world, key[1], profile="research", fmt="csv")
    assert Canary.objects.filter(export_id=export.pk).exists()
    page = sign_in(Client(), world.dpo).get(
        reverse("export_detail", args=[export.pk])).content.decode()
    assert "Traceur à signaler" not in page
    assert "+ 1 traceur" in page


def test_the_export_screens_speak_plainly(world, key):
    export = requested(world, key[1], profile="subject-access", fmt="ndjson", selection="list",
                       ids=[world.patients[0].pk])
    client = sign_in(Client(), world.dpo)
    listing = client.get(reverse("export_list")).content.decode()
    assert "Droit d&#x27;accès de la personne" in listing and "subject-access (" not in listing
    assert export.reference in listing and f">{export.pk}<" not in listing
    detail = client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "Détruire le fichier maintenant" not in detail  # no file yet
