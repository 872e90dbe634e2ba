"""A lab whose rows look like a real lab's, to test that its export canary blends in.

The synthetic generator keeps to ranges reserved for fiction (demo INS OID, ARCEP fiction
blocks, example.* domains, "fictive" insurers, RPPS 99...). A real lab's rows carry none of
that; so here the synthetic identities get the forms real rows have: the NIR OID, mobile
numbers, common mail domains, real insurer names, RPPS starting with 10, varied specimen
times. They are still synthetic people: names, dates and numbers drawn at random.
"""

import random
from datetime import timedelta

from etanche.orders.models import Order, Specimen
from etanche.patients.bulk import bulk_register
from etanche.patients.models import Patient
from etanche.patients.nir import INS_OID_NIR
from etanche.synthetic.people import envelopes
from etanche.synthetic.requests import create_demo_orders

DOMAINS = ("gmail.com", "orange.fr", "free.fr", "hotmail.fr", "sfr.fr", "laposte.net",
           "yahoo.fr", "wanadoo.fr")
INSURERS = ("Harmonie Mutuelle", "MGEN", "Malakoff Humanis", "AG2R La Mondiale", "Groupama",
            "Mutuelle Générale", "Apivia", "Matmut")


def _real_looking(env: dict, rng: random.Random, physicians) -> dict:
    local = env["email"].split("@")[0]
    name, rpps = rng.choice(physicians)
    phones = [f"+33{rng.choice('67')}{rng.randrange(10**8):08d}"]
    if rng.random() < 0.3:
        phones.append(f"+33{rng.choice('12345')}{rng.randrange(10**8):08d}")
    return {**env, "ins_oid": INS_OID_NIR, "phones": phones,
            "email": f"{local}@{rng.choice(DOMAINS)}", "amc_insurer": rng.choice(INSURERS),
            "physician_name": name, "physician_rpps": rpps}


def real_looking_lab(lab, user, n: int, seed: int) -> list[int]:
    """`n` patients of real-looking form, each with a request whose tubes were drawn and
    received after varied delays; returns their ids."""
    rng = random.Random(seed)  # noqa: S311 - test data
    physicians = [(f"Dr {first} {last}", f"10{rng.randrange(10**9):09d}")
                  for first, last in (("Anne", "Le Gall"), ("Yves", "Tanguy"), ("Marc", "Riou"),
                                      ("Sophie", "Guillou"), ("Paul", "Morvan"))]
    bulk_register(lab, (_real_looking(env, rng, physicians) for env in envelopes(n, seed)),
                  user=user, source="test")
    ids = list(Patient.objects.for_lab(lab).values_list("pk", flat=True))
    create_demo_orders(lab, ids, seed, user=user)
    for order in Order.objects.for_lab(lab).prefetch_related("specimens"):
        sampled = order.created_at + timedelta(minutes=rng.uniform(2, 45))
        received = sampled + timedelta(minutes=rng.uniform(20, 200))
        Specimen.objects.filter(order=order).exclude(sampled_at=None).update(
            sampled_at=sampled, received_at=received if order.status == "received" else None)
    return ids
