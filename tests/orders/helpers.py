"""Synthetic patients and requests for the orders and patient-page tests."""

import itertools

from etanche.orders import services as orders
from etanche.patients import services as patients
from etanche.patients.models import Patient

_serial = itertools.count(1)

# Synthetic identities: common French names, Rennes (35238) as birthplace.
BASE = {
    "birth_name": "Kergoat", "first_names": ["Maëlle", "Anne"], "birth_date": "1984-03-02",
    "sex": "F", "birthplace_code": "35238",
}


def make_patient(lab, user, **overrides) -> Patient:
    data = {**BASE, **overrides}
    if "birth_name" not in overrides:
        data["birth_name"] = f"Kergoat{'' if not overrides else ''}"
    result = patients.register_patient(lab, user, data, not_duplicate=True)
    return Patient.objects.get(pk=result.id)


def make_order(lab, user, patient, tests=("1104", "1208", "0127"), **kwargs):
    values = {"prescriber_name": "Dr Lefebvre", "prescription_date": "2026-01-05",
              "answers": {"anticoagulant": "aucun"}}
    values.update(kwargs)
    return orders.create_order(lab, user, patient, tests=list(tests), **values)
