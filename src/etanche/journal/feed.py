"""The journal as a change feed: each consumer reads new entries once, in order.

Watch (alert rules) and interop (messages to the analytical LIS) both act on what
happened, and what happened is the journal: an entry is written in the same
transaction as the change it records, so a consumer that follows the journal
misses nothing and never sees a change that was rolled back.

A chain's entries are numbered under the chain's lock, held to commit, so within a
chain `seq` grows in commit order and a cursor per (consumer, chain) is exact; the
table's id is not (two transactions may commit out of id order).

    from etanche.journal import feed
    handled = feed.follow("watch", handle, limit=500)   # handle(chain, [Entry]) in
                                                         # the transaction that moves
                                                         # the cursor: once per entry
"""

from collections.abc import Callable

from django.db import transaction

from etanche.journal.models import Chain, Cursor, Entry


def follow(consumer: str, handle: Callable[[Chain, list[Entry]], None], *,
           limit: int = 500, chains=None) -> int:
    """Pass each chain's entries after `consumer`'s cursor to `handle`, at most `limit`
    per chain, and move the cursor in the same transaction; the number handled.

    If `handle` raises, its writes and the cursor's move are rolled back together and
    the same entries come again next time. A consumer new to a chain starts at the
    oldest entry kept."""
    handled = 0
    for chain in chains if chains is not None else Chain.objects.order_by("pk"):
        with transaction.atomic():
            cursor, _ = Cursor.objects.select_for_update().get_or_create(
                consumer=consumer, chain=chain, defaults={"seq": -1})
            entries = list(Entry.objects.filter(chain=chain, seq__gt=cursor.seq)
                           .order_by("seq")[:limit])
            if not entries:
                continue
            handle(chain, entries)
            cursor.seq = entries[-1].seq
            cursor.save(update_fields=["seq"])
            handled += len(entries)
    return handled


def position(consumer: str) -> dict[int, int]:
    """chain id -> last entry `consumer` handled (a chain it never read is absent)."""
    return dict(Cursor.objects.filter(consumer=consumer).values_list("chain_id", "seq"))
