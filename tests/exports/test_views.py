"""Export pages: what each page does (the checklist of each view is tests/web/test_views.py)."""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.exports import services as exports
from etanche.exports.models import Export, Status
from etanche.ops import worker
from tests.exports.helpers import requested
from tests.personas import sign_in

pytestmark = pytest.mark.usefixtures("with_patients")

def test_the_request_form_shows_what_each_profile_carries(world):
    page = sign_in(Client(), world.labadmin).get(reverse("export_create")).content.decode()
    assert "Transmission à un laboratoire spécialisé" in page
    assert "<code>physician_rpps</code>" in page and "<code>pseudonym</code>" in page


def test_it_files_a_request_from_the_form(world, key):
    client = sign_in(Client(), world.labadmin)
    response = client.post(reverse("export_create"), {
        "profile": "transfer", "format": "csv", "selection": "list",
        "patients": f"{world.patients[0].pk}, {world.patients[1].pk}", "recipient": key[1],
        "expires_days": 3, "downloads": 1})
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{export.pk}/"
    assert export.requested_by == world.labadmin and export.status == Status.REQUESTED
    assert export.get_sealed()["patient_ids"] == sorted(p.pk for p in world.patients[:2])


@pytest.mark.parametrize(("data", "message"), [
    ({"recipient": "age1abc"}, "Cette clé publique age n&#x27;est pas valide."),
    ({"recipient": "ssh-ed25519 AAAA"}, "doit être une clé publique age"),
    ({"expires_days": 45}, "30"),
    ({"selection": "list", "patients": "12 abc"}, "Les identifiants de patients sont des nombres"),
    ({"selection": "period"}, "Indiquez la date de début"),
])
def test_it_explains_bad_input_in_french(world, key, data, message):
    form = {"profile": "migration", "format": "ndjson", "selection": "all",
            "recipient": key[1], "expires_days": 7, "downloads": 1, **data}
    response = sign_in(Client(), world.labadmin).post(reverse("export_create"), form)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Export.objects.exists()


def test_the_list_and_detail_show_status_and_history(world, key):
    export = requested(world, key[1])
    exports.refuse_export(export, world.dpo, "Clé du destinataire non vérifiée")
    client = sign_in(Client(), world.labadmin)
    listing = client.get(reverse("export_list")).content.decode()
    assert f'href="/exports/{export.pk}/"' in listing and "refusé" in listing
    detail = client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "Clé du destinataire non vérifiée" in detail
    assert "demande d&#x27;export" in detail and "approbation d&#x27;export" in detail


@pytest.mark.django_db(transaction=True)  # the worker commits, as it does in production
def test_the_second_person_approves_on_the_web_and_the_worker_produces_the_file(world, key):
    export = requested(world, key[1])
    client = sign_in(Client(), world.biologist, sudo=True)
    page = client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "Approuver et chiffrer" in page
    response = client.post(reverse("export_approve", args=[export.pk]), follow=True)
    page = response.content.decode()
    assert "le fichier chiffré est en préparation" in page and "En file d'attente" in page
    assert '<meta http-equiv="refresh" content="2">' in page  # no script: the CSP allows none
    export.refresh_from_db()
    assert export.status == Status.APPROVED and export.decided_by == world.biologist
    Export.objects.filter(pk=export.pk).update(progress_total=4, progress_done=2)
    page = client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "Production en cours : 2 / 4 patients" in page

    worker.run(interval=0.1, batch=True)

    export.refresh_from_db()
    assert export.status == Status.PRODUCED and export.rows == len(world.patients) + 1
    page = client.get(reverse("export_detail", args=[export.pk])).content.decode()
    assert "Télécharger le fichier chiffré" in page and "refresh" not in page


def test_the_requester_is_not_offered_the_decision(world, key):
    export = requested(world, key[1], by=world.dpo)
    page = sign_in(Client(), world.dpo).get(reverse("export_detail", args=[export.pk]))
    assert "Approuver et chiffrer" not in page.content.decode()
    assert "une autre personne doit l'approuver" in page.content.decode()


def test_a_refusal_on_the_web_needs_a_reason(world, key):
    export = requested(world, key[1])
    client = sign_in(Client(), world.dpo, sudo=True)
    response = client.post(reverse("export_refuse", args=[export.pk]), {"reason": ""},
                           follow=True)
    assert "Indiquez le motif du refus." in response.content.decode()
    client.post(reverse("export_refuse", args=[export.pk]), {"reason": "Hors finalité"})
    export.refresh_from_db()
    assert export.status == Status.REFUSED
