"""journal_verify: entries verified per second on one lab's chain.

Baseline: the same rows read in the same order with no MAC computed, so the
ratio isolates the cost of the integrity check from the cost of reading.
"""

import time

NAME = "journal_verify"


def _fill(lab, n: int) -> None:
    """Append n entries through the chain functions in bulk (bench-only data path)."""
    from django.db import transaction
    from django.utils import timezone

    from etanche.journal import chain as ch
    from etanche.journal import services
    from etanche.journal.models import Action, Chain, Entry, Kind

    services.record(lab=lab, user=None, action=Action.SEARCH)
    with transaction.atomic():
        chain = Chain.objects.select_for_update().get(name=services.chain_name(lab))
        sealer = services.sealer_for(lab)
        key, seq, prev, first = ch.unseal_state(sealer, chain.pk, chain.state)
        batch = []
        for i in range(n):
            seq += 1
            fields = {
                "seq": seq,
                "kind": Kind.ENTRY,
                "at_us": ch.micros(timezone.now()),
                "lab_id": lab.pk,
                "user_id": 1 + i % 40,
                "actor": f"user{i % 40}",
                "action": Action.READ,
                "object_type": "patient",
                "object_id": str(100000 + i % 90000),
                "purpose": "",
                "outcome": "ok",
                "detail": "",
            }
            mac = ch.link(key, prev, ch.canonical(**fields))
            batch.append(Entry(chain=chain, mac=mac, **fields))
            key, prev = ch.evolve(key), mac
            if len(batch) == 20000:
                Entry.objects.bulk_create(batch)
                batch = []
        Entry.objects.bulk_create(batch)
        chain.state = ch.seal_state(sealer, chain.pk, key=key, seq=seq, mac=prev, first=first)
        chain.save(update_fields=["state"])


def _plain_read(chain) -> int:
    from etanche.journal.verify import _rows

    count = 0
    for _ in _rows(chain):
        count += 1
    return count


def run(ctx) -> dict:
    from etanche.journal import services, verify
    from etanche.journal.models import Chain
    from etanche.ops.labs import create_lab

    n = 200_000 if ctx.quick else 1_000_000
    lab = create_lab("bench-journal", "Banc journal", "990000002")
    _fill(lab, n)
    chain = Chain.objects.get(name=services.chain_name(lab))

    started = time.perf_counter()
    plain = _plain_read(chain)
    baseline_s = time.perf_counter() - started

    started = time.perf_counter()
    report = verify.verify_chain(chain)
    verify_s = time.perf_counter() - started
    assert report.problem is None, report.problem
    assert report.entries == plain

    value = report.entries / verify_s
    baseline = plain / baseline_s
    return [{
        "name": NAME,
        "value": round(value),
        "unit": "entries/s",
        "baseline": round(baseline),
        "ratio": round(baseline / value, 2),
        "n": report.entries,
        "detail": {
            "verify_s": round(verify_s, 3),
            "read_only_s": round(baseline_s, 3),
            "target": ">= 1000000 entries/s",
        },
    }]
