"""Issue 16, item 8: no patient identifier in a URL, a redirect target or a session.

The attack: search was a GET form, so `/patients/?nir=...` sat in browser history and
proxy logs, and a session interrupted on the results kept `next=/patients/?nir=...` in
django_session. A front-office day is driven here through the real pages; every URL
requested, redirected to or linked from a page, and every stored session, is searched
for the identifiers used.
"""

import json
import re
from datetime import date
from importlib import import_module

from django.conf import settings
from django.test import Client
from django.urls import reverse

from etanche.accounts.models import SealedTOTPDevice
from etanche.synthetic.people import nir_for
from etanche.web import sessions
from tests.orders.helpers import make_patient
from tests.personas import make_user, totp_now

PASSWORD = "Une-journee-a-l-accueil-7"
BIRTH = date(1979, 11, 23)
NIR = nir_for("F", BIRTH, "29019", 412)
IDENTITY = {"birth_name": "Kerhervé", "first_names": ["Gwenola"], "sex": "F",
            "birth_date": BIRTH.isoformat(), "birthplace_code": "29019", "nir": NIR}
SECRETS = [NIR, "Kerherv", "KERHERV", "kerherv", "Gwenola", "1979-11-23", "23/11/1979",
           "19791123", "Kerherv%C3%A9"]
LINK = re.compile(r'(?:href|action|src|hx-get|hx-post)="([^"]*)"')
ORDER = {"tests": "1104 1208", "prescriber_name": "Dr Le Bras",
         "prescriber_rpps": "10003456789", "prescription_date": "2026-01-05",
         "q_anticoagulant": "aucun", "clinical_info": "", "notes": ""}


class Day:
    """A browser at the front desk that notes every URL it meets."""

    def __init__(self):
        self.client = Client()
        self.urls: list[str] = []
        self.sessions: list[str] = []

    def go(self, method: str, url: str, data=None, *, note=True):
        response = getattr(self.client, method)(url, data or {})
        if note:
            self.urls.append(url)
        if response.has_header("Location"):
            self.urls.append(response["Location"])
        if "text/html" in response.get("Content-Type", ""):
            self.urls += LINK.findall(response.content.decode())
        return response

    def log_in(self, user, next_url="", *, note=True):
        self.go("get", reverse("login") + (f"?next={next_url}" if next_url else ""), note=note)
        response = self.go("post", reverse("login"),
                           {"username": user.username, "password": PASSWORD,
                            "next": next_url}, note=note)
        self.sessions += _stored_sessions()  # half logged in: where `next` waits
        device = SealedTOTPDevice.objects.get(user=user)
        device.last_t = -1  # a fresh code each time the test logs in
        device.save(update_fields=["last_t"])
        self.go("post", response["Location"], {"code": totp_now(device)})


def _stored_sessions() -> list[str]:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return [json.dumps(store().decode(row.session_data), ensure_ascii=False)
            for row in store.get_model_class().objects.all()]


def _leaks(texts) -> list[str]:
    return [text for text in texts for secret in SECRETS if secret in text]


def test_a_front_office_day_leaves_no_identifier_in_urls_or_sessions(world):
    desk = make_user("morgane.le-goff", world.lab_a, "frontdesk", password=PASSWORD)
    patient = make_patient(world.lab_a, world.frontdesk, **IDENTITY)
    day = Day()
    day.log_in(desk)

    by_nir = day.go("post", reverse("patient_search"), {"nir": NIR})
    detail_url = reverse("patient_detail", kwargs={"pk": patient.pk})
    assert detail_url in by_nir.content.decode()
    assert "no-store" in by_nir["Cache-Control"]
    by_name = day.go("post", reverse("patient_search"),
                     {"name": "Kerhervé", "birth_date": BIRTH.isoformat()})
    assert detail_url in by_name.content.decode()
    day.go("get", detail_url)
    order_url = reverse("order_create", kwargs={"patient_id": patient.pk})
    day.go("get", order_url)
    created = day.go("post", order_url, ORDER)
    assert created.status_code == 302
    day.go("get", created["Location"])

    # The session ends on the results page (idle); the person searches again, is sent
    # to the login page, logs in and comes back.
    session = day.client.session
    session[sessions.LAST_SEEN] = 0
    session.save()
    day.go("post", reverse("patient_search"), {"nir": NIR})
    back = day.go("get", reverse("patient_search"))
    day.log_in(desk, next_url=back["Location"].partition("next=")[2])
    # An old bookmark of the GET form: the query is neither obeyed nor kept anywhere.
    anonymous = Day()
    bookmark = anonymous.go("get", f"{reverse('patient_search')}?nir={NIR}", note=False)
    assert NIR not in bookmark["Location"]
    old = day.go("get", f"{reverse('patient_search')}?nir={NIR}", note=False)
    assert NIR not in old.content.decode() and "1 résultat" not in old.content.decode()

    # A crafted or old link to the login page with a query in `next`: not kept.
    day.client.post(reverse("logout"))
    day.log_in(desk, next_url=f"{reverse('patient_search')}?nir={NIR}", note=False)

    assert len(day.urls) > 20
    assert _leaks(day.urls + anonymous.urls) == []
    assert _leaks(day.sessions + _stored_sessions()) == []
