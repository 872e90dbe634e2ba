"""Synthetic requests for synthetic people: the demo's, and the canaries' (never real ones).

The panels are common NABM prescriptions (codes from the lab's catalogue,
docs/catalogue.md); prescribers are fictitious names.
"""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from etanche.accounts.models import Membership, Role
from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.orders import catalogue
from etanche.orders.models import Order, OrderTest, Specimen, Status
from etanche.orders.preanalytical import QUESTIONS
from etanche.orders.services import barcode_for, next_number, specimens_for
from etanche.vault import services as vault

# Usual town-lab prescriptions, as NABM codes of the shipped subset.
DEMO_PANELS = (
    ("1104", "0552", "0996"),
    ("1104", "1208"),
    ("0127",),
    ("1104", "0593", "1610", "1804"),
    ("1577", "0552", "0592"),
    ("1208", "1207"),
    ("5201",),
    ("1213", "1104", "1374", "1387"),
    ("7402",),
    ("1139", "0578"),
    ("0522", "0519", "1601"),
    ("7318",),
)
DEMO_PRESCRIBERS = ("Dr Martin", "Dr Bernard", "Dr Lefebvre", "Dr Moreau", "Dr Girard")


def create_demo_orders(lab, patients, seed: int = 0, *, user=None, per_patient: int = 1
                       ) -> list[Order]:
    """Requests for synthetic demo patients, in bulk, spread over the last week and today.

    One journal entry for the whole batch (nobody read anything): synthetic
    people, as for the demo patients.
    """
    if user is None:
        member = (Membership.objects.filter(lab=lab, role=Role.FRONTDESK, is_active=True)
                  .select_related("user").first())
        if member is None:
            raise ValueError("the demo lab needs a front-office member to sign the requests")
        user = member.user
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    tests = {t.code: t for t in catalogue.enabled_tests(lab)}
    now = timezone.now()
    orders, fields, items, specimens = [], [], [], []
    today = timezone.localdate()
    with transaction.atomic():
        for patient in patients:
            for _ in range(per_patient):
                panel = [tests[c] for c in rng.choice(DEMO_PANELS) if c in tests]
                if not panel:
                    continue
                days_ago = rng.choice((0, 0, 0, 1, 2, 3, 5, 7))
                created = now - timedelta(days=days_ago, minutes=rng.randrange(0, 300))
                status = Status.REGISTERED if days_ago == 0 and rng.random() < 0.5 else (
                    Status.SAMPLED if days_ago == 0 else Status.RECEIVED)
                order = Order(lab=lab, patient_id=getattr(patient, "pk", patient), status=status,
                              number=next_number(lab, today.year), urgent=rng.random() < 0.1,
                              created_at=created, created_by=user, status_changed_at=created)
                answers = {}
                for key in dict.fromkeys(k for t in panel for k in t.question_keys):
                    kind = QUESTIONS[key].kind
                    answers[key] = (rng.random() < 0.5 if kind == "yesno" else
                                    ("aucun" if key == "anticoagulant" else ""))
                orders.append(order)
                fields.append({"prescriber_name": rng.choice(DEMO_PRESCRIBERS),
                               "prescriber_rpps": "",
                               "prescription_date": created.date().isoformat(),
                               "clinical_info": "", "answers": answers, "fasting": None,
                               "notes": "", "cancel_reason": "", "reject_comment": ""})
                items.extend(OrderTest(lab=lab, order=order, code=t.code, label=t.label,
                                       specimen=t.specimen) for t in panel)
                sampled = None if status == Status.REGISTERED else created + timedelta(minutes=5)
                for rank, container in enumerate(specimens_for(panel), start=1):
                    specimens.append(Specimen(
                        lab=lab, order=order, barcode=barcode_for(order.number, rank),
                        container=container, sampled_at=sampled,
                        collector=user if sampled else None,
                        received_at=created + timedelta(hours=1)
                        if status == Status.RECEIVED else None))
        for order in orders:
            order.revision = 1  # sealed once, below, bound to its patient and status
        tokens = vault.seal_many(lab, Order.record_type(),
                                 [(o.pk, f, o.current_binding())
                                  for o, f in zip(orders, fields, strict=True)],
                                 Order.SEALED_SCHEMA_VERSION)
        for order, token in zip(orders, tokens, strict=True):
            order.sealed = token
            order.key_version = vault.token_key_version(token)
        Order.objects.bulk_create(orders)
        OrderTest.objects.bulk_create(items)
        Specimen.objects.bulk_create(specimens)
        journal(lab=lab, user=None, actor="demo", action=Action.CREATE,
                       object_type="order", purpose="données de démonstration",
                       detail={"orders": len(orders)})
    return orders


def enabled_panels(lab) -> list[list]:
    """The demo panels whose tests the lab offers, as catalogue tests."""
    tests = {t.code: t for t in catalogue.enabled_tests(lab)}
    panels = [[tests[c] for c in panel if c in tests] for panel in DEMO_PANELS]
    return [p for p in panels if p]
