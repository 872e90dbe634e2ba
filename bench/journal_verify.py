"""journal_verify: entries verified per second, several chains in parallel and one alone.

`journal verify` hands each chain to a forked worker (lib/forked.py), so the
headline figure is LABS chains of N/LABS entries verified together
(`journal.verify._verify_pk`, what `verify()` maps over its chains); the detail
gives one chain of N verified alone (`verify_chain`: a chain's key ratchets
entry by entry, so one chain is one core).

Baseline, measured in the same run over the same chains and workers: the
reading floor, verification's own read without the MACs (PostgreSQL: a binary
COPY of the canonical forms and MACs, built by the server, in arrays; SQLite:
a plain cursor, canonical forms built in Python). Size: N = 1,000,000
(--quick 200,000; BENCH_N overrides), LABS = 4 (BENCH_LABS); memory stays
bounded (batches of journal.verify.BATCH).

    python -m bench --only journal_verify --database postgresql
"""

import os
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


def _read_pk(chain_pk: int) -> int:
    """The reading floor of one chain: what verification reads, without the MACs."""
    from etanche.journal import verify
    from etanche.journal.models import Chain

    chain = Chain.objects.get(pk=chain_pk)
    return sum(len(macs) for _, macs in verify._batches(chain))


def _timed(fn, pks, workers):
    from etanche.lib.forked import ordered_map

    started = time.perf_counter()
    results = list(ordered_map(fn, pks, workers))
    return results, time.perf_counter() - started


def run(ctx) -> dict:
    from stdnum import luhn

    from etanche.journal import services
    from etanche.journal.models import Chain
    from etanche.lib.forked import fork_workers
    from etanche.ops.labs import create_lab

    n = int(os.environ.get("BENCH_N", "0")) or (200_000 if ctx.quick else 1_000_000)
    labs = int(os.environ.get("BENCH_LABS", "0")) or 4
    alone = create_lab("bench-journal", "Banc journal", "990000002")
    _fill(alone, n)
    together = []
    for i in range(labs):
        body = f"991{i:05d}"
        lab = create_lab(f"bench-journal-{i}", f"Banc journal {i}",
                         body + luhn.calc_check_digit(body))
        _fill(lab, n // labs)
        together.append(lab)
    pk_alone = Chain.objects.get(name=services.chain_name(alone)).pk
    pks = [Chain.objects.get(name=services.chain_name(lab)).pk for lab in together]
    workers = fork_workers(None, len(pks), 2)

    from etanche.journal import verify
    from etanche.journal.verify import _verify_pk

    [read_alone], read_alone_s = _timed(_read_pk, [pk_alone], 1)
    [report], verify_alone_s = _timed(_verify_pk, [pk_alone], 1)
    assert report.problem is None, report.problem
    assert report.entries == read_alone

    read, read_s = _timed(_read_pk, pks, workers)
    reports, verify_s = _timed(_verify_pk, pks, workers)
    assert all(r.problem is None for r in reports), [r.problem for r in reports]
    entries = sum(r.entries for r in reports)
    assert entries == sum(read)

    value, baseline = entries / verify_s, entries / read_s
    return [{
        "name": NAME,
        "value": round(value),
        "unit": "entries/s",
        "baseline": round(baseline),
        "ratio": round(baseline / value, 2),
        "n": entries,
        "detail": {
            "chains": len(pks),
            "workers": workers,
            "verify_s": round(verify_s, 3),
            "read_only_s": round(read_s, 3),
            "one_chain": {
                "n": report.entries,
                "entries_s": round(report.entries / verify_alone_s),
                "read_only_entries_s": round(read_alone / read_alone_s),
                "verify_s": round(verify_alone_s, 3),
                "read_only_s": round(read_alone_s, 3),
            },
            "reading": ("binary COPY, canonical forms and MACs in arrays of "
                        f"{verify.BATCH}" if ctx.database == "postgresql"
                        else "plain cursor, canonical forms built in Python"),
            "target": ">= 1000000 entries/s",
        },
    }]
