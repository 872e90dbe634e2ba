"""The DPO's alert pages, the lab admin's watch settings and break-the-glass, in French."""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.journal.models import Action, Entry
from etanche.watch.models import AlertState, GlassGrant, StaffIdentity, WatchSettings
from tests.orders.helpers import make_order, make_patient
from tests.personas import sign_in
from tests.watch.helpers import alerts_of, drain, reads

pytestmark = pytest.mark.django_db


def test_the_dpo_lists_filters_and_closes_an_alert(world):
    reads(world.lab_a, world.frontdesk, range(7000, 7060))
    drain()
    (alert,) = alerts_of(world.lab_a, "bulk-reads")
    client = sign_in(Client(), world.dpo)
    page = client.get(reverse("alert_list"), {"severity": "high"})
    assert "Consultations en masse" in page.content.decode()
    assert "Aucune alerte" in client.get(reverse("alert_list"),
                                         {"rule": "honeypot"}).content.decode()
    detail = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert "Entrées du journal" in detail and "patient 7059" in detail
    refused = client.post(reverse("alert_close", args=[alert.pk]),
                          {"resolution": "incident", "comment": ""})
    assert refused.status_code == 400 and "crivez l&#x27;incident" in refused.content.decode()
    client.post(reverse("alert_close", args=[alert.pk]),
                {"resolution": "incident", "comment": "Compte prêté, à instruire"})
    alert.refresh_from_db()
    assert alert.state == AlertState.CLOSED and alert.resolution == "incident"


def test_the_lab_admin_sets_thresholds_hours_and_targets(world):
    client = sign_in(Client(), world.labadmin, sudo=True)
    form = client.get(reverse("watch_settings")).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k != "days"}
    data.update({"days": ["0", "1", "2", "3", "4"], "opens": "08:00", "closes": "19:00",
                 "syslog": "udp://127.0.0.1:5514", "bulk-reads__frontdesk": "30",
                 "webhook": "http://192.0.2.1/x"})
    refused = client.post(reverse("watch_settings"), data)
    assert "http en clair seulement" in refused.content.decode()
    data["webhook"] = "https://siem.lab-a.example/alertes"
    assert client.post(reverse("watch_settings"), data).status_code == 302
    row = WatchSettings.objects.get(lab=world.lab_a)
    assert row.hours == {"days": [0, 1, 2, 3, 4], "open": "08:00", "close": "19:00"}
    assert row.thresholds["bulk-reads"]["by_role"]["frontdesk"] == 30
    assert Entry.objects.filter(action=Action.WATCH_SETTINGS).count() == 1


def test_break_the_glass_asks_a_reason_grants_and_alerts_the_dpo(world):
    patient = make_patient(world.lab_a, world.frontdesk)
    order = make_order(world.lab_a, world.biologist, patient,
                       clinical_info="Suivi sous anticoagulant")
    client = sign_in(Client(), world.dpo)
    # Without a grant, the page asks for a reason first.
    assert client.get(reverse("break_glass_view", args=[order.pk])).url == reverse(
        "break_glass", args=[order.pk])
    form = client.get(reverse("break_glass", args=[order.pk])).content.decode()
    assert "urgence médicale" in form and "30 minutes" in form
    short = client.post(reverse("break_glass", args=[order.pk]),
                        {"reason": "dpo-inquiry", "text": "court"})
    assert "10 caractères" in short.content.decode()
    granted = client.post(reverse("break_glass", args=[order.pk]),
                          {"reason": "dpo-inquiry", "text": "Demande d'accès du patient n° 12"})
    assert granted.url == reverse("break_glass_view", args=[order.pk])
    page = client.get(granted.url).content.decode()
    assert "Suivi sous anticoagulant" in page
    (grant,) = GlassGrant.objects.all()
    assert b"patient n" not in bytes(grant.sealed)
    entry = Entry.objects.get(action=Action.BREAK_GLASS)
    assert "dpo-inquiry" in entry.detail and "12" not in entry.detail.replace(str(grant.pk), "")
    drain()
    (alert,) = alerts_of(world.lab_a, "break-glass")
    assert alert.user_id == world.dpo.pk
    detail = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert "Demande d&#x27;accès du patient n° 12" in detail
    # Another lab's request stays a 404, a role without the permission a 403.
    assert sign_in(Client(), world.in_lab_b["dpo"]).get(
        reverse("break_glass", args=[order.pk])).status_code == 404
    assert sign_in(Client(), world.auditor).get(
        reverse("break_glass", args=[order.pk])).status_code == 403


def test_the_lab_admin_records_a_staff_identity_never_shown_back(world):
    client = sign_in(Client(), world.labadmin, sudo=True)
    member = world.membership(world.frontdesk)
    url = reverse("staff_identity", args=[member.pk])
    assert "Aucune identité enregistrée" in client.get(url).content.decode()
    bad = client.post(url, {"birth_name": "Le Goff", "birth_date": "1990-05-04",
                            "phone": "pas un numéro"})
    assert bad.status_code == 200 and "StaffIdentity" not in bad.content.decode()
    assert not StaffIdentity.objects.exists()
    client.post(url, {"birth_name": "Le Goff", "birth_date": "1990-05-04",
                      "phone": "06 39 98 12 34"})
    page = client.get(url).content.decode()
    assert "Une identité est enregistrée" in page and "Goff" not in page
    assert StaffIdentity.objects.get().get_sealed()["phone"] == "+33639981234"
    no_code = client.post(url, {"birth_name": "Le Goff", "birth_date": "1990-05-04",
                                "street": "12 rue de Brest"})
    assert "Le code postal accompagne l&#x27;adresse." in no_code.content.decode()
    client.post(url, {"birth_name": "Le Goff", "birth_date": "1990-05-04",
                      "street": "12 rue de Brest", "postal_code": "29000"})
    assert StaffIdentity.objects.get().address_index is not None
    assert "Brest" not in client.get(url).content.decode()
