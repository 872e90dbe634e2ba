"""Record and purge the journal (verification is journal/verify.py).

`record()` is the one way to write entries, one or several at a time, and it
writes the journal's rows only: another app's writes go through its own ORM
calls before it. It runs inside the caller's transaction (without a savepoint
of its own: a failed append fails the whole transaction, and the two round trips
per entry were measurable, bench/RESULTS.md), so an action and its entries
commit or roll back together. Failed logins are recorded by the accounts app
outside any transaction that could roll back.
"""

import contextlib
from typing import overload

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from etanche.journal import actor as actors
from etanche.journal import chain as ch
from etanche.journal import registry
from etanche.journal.models import Action, Chain, Entry, Kind, Outcome
from etanche.journal.verify import _walk
from etanche.labs.models import Lab

SYSTEM_CHAIN = "system"
# TextChoices.values builds a new list on every access: checked on every append.
_ACTIONS = frozenset(Action.values)
_OUTCOMES = frozenset(Outcome.values)


class JournalError(Exception):
    """The journal cannot be written or read; the message names the chain, never data."""


def chain_name(lab) -> str:
    return SYSTEM_CHAIN if lab is None else f"lab:{lab.pk}"


def sealer_for(lab):
    return ch.sealer_for(lab)


def _lab_of(chain: Chain):
    if chain.lab_id is None:
        return None
    return Lab.objects.get(pk=chain.lab_id)


def _start_chain(lab, book: registry.Book) -> Chain:
    """Create a chain with its start entry, and register it. Caller holds a transaction."""
    sealer = sealer_for(lab)
    now = ch.micros(timezone.now())
    new = Chain.objects.create(
        name=chain_name(lab), lab_id=None if lab is None else lab.pk, state=b""
    )
    key = ch.new_key()
    canon = ch.canonical(
        0, Kind.START, now, new.lab_id, None, "system", Action.CHAIN_START, "", "", "", "ok", ""
    )
    mac = ch.link(key, ch.ZERO_MAC, canon)
    Entry.objects.create(
        chain=new,
        seq=0,
        kind=Kind.START,
        at_us=now,
        lab_id=new.lab_id,
        actor="system",
        action=Action.CHAIN_START,
        mac=mac,
        anchor=ch.seal_anchor(sealer, new.pk, 0, key + ch.ZERO_MAC),
    )
    new.state = ch.seal_state(sealer, new.pk, key=ch.evolve(key), seq=0, mac=mac, first=0)
    new.save(update_fields=["state"])
    book.started(new, now, mac)
    return new


def _locked_chain(lab, book: registry.Book) -> Chain:
    """The lab's chain row, locked until the caller's transaction ends (SQLite runs one
    writer at a time and has no FOR UPDATE: Django skips it there)."""
    name = chain_name(lab)
    chain = Chain.objects.select_for_update().filter(name=name).first()
    if chain is not None:
        return chain
    try:
        with transaction.atomic():
            return _start_chain(lab, book)
    except IntegrityError:
        # Another process started it between our read and our insert.
        return Chain.objects.select_for_update().get(name=name)


# The keywords an entry may have, with their defaults: `record()`'s own, one per entry.
_ENTRY_DEFAULTS = {"object_type": "", "object_id": "", "purpose": "", "outcome": Outcome.OK,
                   "detail": None, "actor": None, "kind": Kind.ENTRY}


@overload
def record(*, lab, user, action: str, object_type: str = ..., object_id=..., purpose: str = ...,
           outcome: str = ..., detail: dict | None = ..., actor: str | None = ...,
           kind: str = ...) -> Entry: ...
@overload
def record(*, lab, user, entries: list[dict]) -> list[Entry]: ...


def record(*, lab, user, action: str | None = None, entries: list[dict] | None = None,
           **fields) -> Entry | list[Entry]:
    """Append to the lab's chain (the system chain for lab=None), in the caller's
    transaction; the journal's own writes only.

    One entry: its fields as keywords, `record(lab=, user=, action=, object_type=,
    object_id=, purpose=, outcome=, detail=, actor=, kind=)`; returns the Entry.
    Several entries of one lab and user (an action and the check that allowed it):
    `record(lab=, user=, entries=[{"action": ..., ...}, ...])`, each dict holding those
    keywords; returns the Entries, in order. One lock of the registry and the chain, one
    insert, one state update, one registry update.

    Call it last in the transaction, after every other lock the transaction takes: the
    registry of chains, then the chain, stay locked from here to the commit, and locks
    taken in one order everywhere cannot deadlock. A closed chain (after its end marker)
    is refused with JournalError, raised outside the append so the caller's transaction
    stays usable.
    """
    if entries is None:
        if action is None:
            raise JournalError("record() needs an action, or entries")
        items = [{"action": action, **fields}]
    elif action is not None or fields:
        raise JournalError("record() takes either one entry's fields or entries, not both")
    else:
        items = list(entries)
    for item in items:
        _check(item)
    if not items:
        return []
    with transaction.atomic(savepoint=False):
        locked = registry.lock_with_chain(chain_name(lab))
        if locked is None:  # the chain's first append, or the registry gone
            book = registry.lock()
            locked = book, _locked_chain(lab, book)
        book, chain = locked
        if chain.closed:
            book.save()  # what the lock found wrong with the registry stays said
        else:
            made = _entries(chain, lab, user, items)
            book.moved(chain, made[-1].seq, made[-1].mac)
            # The chain's state, the registry, then the entries' INSERT ... RETURNING,
            # whose fetch waits for all three: one round trip on PostgreSQL.
            with _one_round_trip():
                _save_state(chain)
                book.save()
                _insert(made)
            return made if entries is not None else made[0]
    raise JournalError(f"journal chain {chain.name} is closed")


@contextlib.contextmanager
def _one_round_trip():
    """psycopg's pipeline mode on PostgreSQL: the statements inside are sent without
    waiting for each result, and a fetch (or the block's end) waits for all of them; an
    error in any of them is raised there and fails the caller's transaction as before.
    Elsewhere the statements simply run one after another."""
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.connection.pipeline():
        yield


_CHAIN_TABLE = Chain._meta.db_table
# Fixed SQL (a rowcount in pipeline mode is only known after the sync, and the ORM's
# save(update_fields=...) reads it at once); the chain's row is locked by this transaction.
_SAVE_STATE = f"UPDATE {_CHAIN_TABLE} SET state = %s, closed = %s WHERE id = %s"  # noqa: S608


def _save_state(chain: Chain) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_SAVE_STATE, [chain.state, chain.closed, chain.pk])


_ENTRY_TABLE = Entry._meta.db_table
_ENTRY_FIELDS = [f for f in Entry._meta.concrete_fields if not f.primary_key]
_ENTRY_COLUMNS = ", ".join(f.column for f in _ENTRY_FIELDS)
_ENTRY_INSERT = f"INSERT INTO {_ENTRY_TABLE} ({_ENTRY_COLUMNS}) VALUES "  # noqa: S608
_ENTRY_ROW = "(" + ", ".join(["%s"] * len(_ENTRY_FIELDS)) + ")"


def _insert(made: list[Entry]) -> None:
    """INSERT the new entries, their ids set from RETURNING. Fixed SQL (one row template
    repeated per entry): bulk_create's query building was 40% of an append's CPU, as much
    as the MACs, the sealing of the head and the registry together (bench/RESULTS.md)."""
    sql = _ENTRY_INSERT + ", ".join([_ENTRY_ROW] * len(made)) + " RETURNING id, seq"
    params = [getattr(entry, f.attname) for entry in made for f in _ENTRY_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = {seq: pk for pk, seq in cursor.fetchall()}
    for entry in made:
        entry.pk = ids[entry.seq]
        entry._state.adding, entry._state.db = False, connection.alias


def _check(item: dict) -> None:
    unknown = set(item) - {"action", *_ENTRY_DEFAULTS}
    if unknown:
        raise JournalError(f"unknown journal entry field(s) {', '.join(sorted(unknown))}")
    if item.get("action") not in _ACTIONS:
        raise JournalError(f"unknown journal action {item.get('action')!r}")
    if item.get("outcome", Outcome.OK) not in _OUTCOMES:
        raise JournalError(f"unknown journal outcome {item.get('outcome')!r}")


def _entries(chain: Chain, lab, user, items: list[dict]) -> list[Entry]:
    """The locked chain's next entries, unsaved, and its new state set on `chain`."""
    sealer = sealer_for(lab)
    key, seq, prev_mac, first = ch.unseal_state(sealer, chain.pk, chain.state)
    made = []
    for item in items:
        seq += 1
        values = {**_ENTRY_DEFAULTS, **item}
        kind = values.pop("kind")
        fields = _fields(chain, user, seq, kind, **values)
        prev_mac = ch.link(key, prev_mac, ch.canonical(**fields))
        made.append(Entry(chain=chain, mac=prev_mac, anchor=None, **fields))
        key = ch.evolve(key)
        if kind == Kind.END:
            chain.closed = True
    chain.state = ch.seal_state(sealer, chain.pk, key=key, seq=seq, mac=prev_mac, first=first)
    return made


def _fields(chain, user, seq, kind, *, action, object_type="", object_id="", purpose="",
            outcome=Outcome.OK, detail=None, actor=None) -> dict:
    # Choices as plain str (same text, same MAC): psycopg finds no adapter for an enum
    # subclass and walks its class hierarchy for each value it sends.
    return {
        "seq": seq,
        "kind": str(kind),
        "at_us": ch.micros(timezone.now()),
        "lab_id": chain.lab_id,
        "user_id": getattr(user, "pk", None),
        "actor": ch.clean(actors.describe(user, actor), 200),
        "action": str(action),
        "object_type": ch.clean(object_type, 40),
        "object_id": ch.clean(str(object_id or ""), 64),
        "purpose": ch.clean(purpose, 200),
        "outcome": str(outcome),
        "detail": ch.dumps_detail(detail),
    }


def close_chain(lab, *, user=None, reason: str = "") -> None:
    """Write the end marker: nothing may follow it (used before a lab's keys are shredded)."""
    record(lab=lab, user=user, action=Action.CHAIN_END, purpose=reason, kind=Kind.END)


# --- retention --------------------------------------------------------------


def purge_older_than(days: int, *, now=None) -> dict[str, int]:
    """Delete entries older than `days`, per chain, keeping the chain verifiable.

    The first kept entry becomes the new anchor (its MAC key and previous MAC are
    sealed into it) and the head's `first` moves to it, all in one transaction,
    followed by a JOURNAL_PURGE entry. A chain that does not verify is not purged:
    evidence of tampering is never destroyed by retention.
    """
    if days < 1:
        raise JournalError("retention must be at least one day")
    cutoff = (now or timezone.now()) - timezone.timedelta(days=days)
    purged: dict[str, int] = {}
    for name in Chain.objects.order_by("name").values_list("name", flat=True):
        with transaction.atomic():
            chain = Chain.objects.select_for_update().get(name=name)
            lab = _lab_of(chain)
            sealer = sealer_for(lab)
            entries = Entry.objects.filter(chain=chain)
            keep_from = (
                entries.filter(at_us__gte=ch.micros(cutoff))
                .order_by("seq")
                .values_list("seq", flat=True)
                .first()
            )
            first_seq = entries.order_by("seq").values_list("seq", flat=True).first()
            if keep_from is None or first_seq is None or keep_from <= first_seq:
                continue
            count, problem, key, prev = _walk(chain, sealer, stop_before=keep_from)
            if problem is not None:
                raise JournalError(f"not purged, verification failed: {problem}")
            entries.filter(seq=keep_from).update(
                anchor=ch.seal_anchor(sealer, chain.pk, keep_from, key + prev)
            )
            deleted, _ = entries.filter(seq__lt=keep_from).delete()
            head_key, head_seq, head_mac, _ = ch.unseal_state(sealer, chain.pk, chain.state)
            chain.state = ch.seal_state(
                sealer, chain.pk, key=head_key, seq=head_seq, mac=head_mac, first=keep_from
            )
            chain.save(update_fields=["state"])
            record(
                lab=lab,
                user=None,
                action=Action.JOURNAL_PURGE,
                detail={"before_seq": keep_from, "deleted": deleted, "retention_days": days},
            )
            purged[name] = deleted
    return purged
