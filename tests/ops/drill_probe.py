"""Run inside `etanche shell` after a restore: read every patient, search one, export.

Prints one `key=value` per line for the test to read; never a person's data.
"""
# ruff: noqa: INP001, T201
import os
from datetime import timedelta

from django.utils import timezone

from etanche.accounts.models import User
from etanche.exports import production
from etanche.exports import services as exports
from etanche.labs.models import Lab
from etanche.patients.models import Patient
from etanche.patients.search import search

lab = Lab.objects.get(slug=os.environ.get("PROBE_LAB", "demo"))
rows = list(Patient.objects.filter(lab=lab).values_list(*Patient.opening_columns()))
envelopes = [Patient.open_row(row) for row in rows]
print(f"patients={len(rows)}")
print(f"opened={sum(1 for e in envelopes if e.get('birth_name'))}")
if os.environ.get("PROBE_FULL") == "1":
    admin = User.objects.get(username="claire.dubois")
    biologist = User.objects.get(username="sophie.bernard")
    # The demo staff joined today; an account younger than 7 days may not approve.
    User.objects.filter(pk=biologist.pk).update(date_joined=timezone.now() - timedelta(days=90))
    biologist.refresh_from_db()
    first = envelopes[0]
    page = search(lab, admin, name=first["birth_name"], birth_date=first["birth_date"])
    print(f"search_found={page.total}")
    export = exports.request_export(
        lab, admin, profile="migration", selection="all", recipient=os.environ["PROBE_RECIPIENT"],
        expires_in=timedelta(days=1), downloads=1, downloads_shared=True, via="cli")
    exports.approve_export(export, biologist, via="cli", queue=False)
    export = production.produce_export(export)
    print(f"export_status={export.status}")
