"""Record, verify, checkpoint and purge the journal.

`record()` is the one way to write entries, one or several at a time, and it
writes the journal's rows only: another app's writes go through its own ORM
calls before it. It runs inside the caller's transaction (without a savepoint
of its own: a failed append fails the whole transaction, and the two round trips
per entry were measurable, bench/RESULTS.md), so an action and its entries
commit or roll back together. Failed logins are recorded by the accounts app
outside any transaction that could roll back.
"""

import secrets
from dataclasses import dataclass
from typing import overload

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from etanche.journal import actor as actors
from etanche.journal import chain as ch
from etanche.journal import registry
from etanche.journal.models import Action, Chain, Entry, Kind, Outcome
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
    keywords; returns the Entries, in order. One chain lock, one insert, one state update.

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
        book = registry.lock()
        chain = _locked_chain(lab, book)
        made = None if chain.closed else _append(chain, lab, user, items)
        if made:
            book.moved(chain, made[-1].seq, made[-1].mac)
        book.save()
        if made is not None:
            return made if entries is not None else made[0]
    raise JournalError(f"journal chain {chain.name} is closed")


def _check(item: dict) -> None:
    unknown = set(item) - {"action", *_ENTRY_DEFAULTS}
    if unknown:
        raise JournalError(f"unknown journal entry field(s) {', '.join(sorted(unknown))}")
    if item.get("action") not in _ACTIONS:
        raise JournalError(f"unknown journal action {item.get('action')!r}")
    if item.get("outcome", Outcome.OK) not in _OUTCOMES:
        raise JournalError(f"unknown journal outcome {item.get('outcome')!r}")


def _append(chain: Chain, lab, user, items: list[dict]) -> list[Entry]:
    """The locked chain's next entries and its new state; the caller holds the transaction."""
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
    Entry.objects.bulk_create(made)
    chain.save(update_fields=["state", "closed"])
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


# --- verification -----------------------------------------------------------

_FIELDS = (
    "seq",
    "kind",
    "at_us",
    "lab_id",
    "user_id",
    "actor",
    "action",
    "object_type",
    "object_id",
    "purpose",
    "outcome",
    "detail",
    "mac",
    "anchor",
)


@dataclass
class Problem:
    chain: str
    lab_id: int | None
    seq: int | None
    reason: str

    def __str__(self):
        if self.chain == REGISTRY:
            return f"journal registry: {self.reason}"
        where = f"entry {self.seq}" if self.seq is not None else "chain"
        lab = "system" if self.lab_id is None else f"lab {self.lab_id}"
        return f"journal {self.chain} ({lab}): {where}: {self.reason}"


@dataclass
class Report:
    chain: str
    lab_id: int | None
    entries: int
    problem: Problem | None


def _rows(chain: Chain):
    columns = ", ".join(_FIELDS)
    table = Entry._meta.db_table
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {table} WHERE chain_id = %s ORDER BY seq",  # noqa: S608
            [chain.pk],
        )
        while batch := cursor.fetchmany(20000):
            yield from batch


def _walk(chain: Chain, sealer, stop_before: int | None = None):
    """Verify a chain from its first entry; return (count, problem, key, prev) where
    key/prev are the MAC key and previous MAC at `stop_before` (or after the end)."""

    def bad(seq, reason):
        return count, Problem(chain.name, chain.lab_id, seq, reason), None, None

    try:
        _, head_seq, head_mac, first = ch.unseal_state(sealer, chain.pk, chain.state)
    except Exception:  # noqa: BLE001  any failure to open the head is a finding, not a crash
        count = 0
        return bad(None, "head state cannot be opened (altered, or keys missing)")
    expected, key, prev, count, ended = first, None, None, 0, False
    step, sep, end_kind = ch.step, ch.SEP, Kind.END
    # The hot loop of `journal verify`: a raw server-side cursor and the
    # canonical form inlined, because at 10^6 entries a function call per row
    # is a visible share of the time (one, the vault's MAC step, remains).
    # ch.canonical() is the reference.
    for row in _rows(chain):
        (
            seq,
            kind,
            at_us,
            lab_id,
            user_id,
            actor,
            action,
            otype,
            oid,
            purpose,
            outcome,
            detail,
            mac,
            anchor,
        ) = row
        if stop_before is not None and seq == stop_before:
            return count, None, key, prev
        if seq != expected:
            if seq > expected:
                return bad(expected, f"missing (deleted); next present is {seq}")
            return bad(seq, "out of order or duplicated")
        if ended:
            return bad(seq, "written after the chain's end marker")
        if key is None:
            if anchor is None:
                return bad(seq, "first entry has no anchor: earlier entries were deleted")
            try:
                material = ch.unseal_anchor(sealer, chain.pk, seq, anchor)
            except Exception:  # noqa: BLE001
                return bad(seq, "anchor cannot be opened (altered or moved)")
            key, prev = material[:32], material[32:]
        canon = sep.join(
            (
                str(seq),
                kind,
                str(at_us),
                "" if lab_id is None else str(lab_id),
                "" if user_id is None else str(user_id),
                actor,
                action,
                otype,
                oid,
                purpose,
                outcome,
                detail,
            )
        ).encode()
        key = step(key, prev, canon, mac)
        if key is None:
            return bad(seq, "content or position altered (MAC mismatch)")
        ended = kind == end_kind
        prev = bytes(mac)
        expected += 1
        count += 1
    if count == 0:
        return bad(first, "no entries: the chain was emptied")
    last = expected - 1
    if last < head_seq:
        return bad(last + 1, f"tail truncated: head is at {head_seq}, last entry is {last}")
    if last > head_seq or not secrets.compare_digest(prev, head_mac):
        return bad(last, "does not match the recorded head")
    return count, None, key, prev


def verify_chain(chain: Chain) -> Report:
    try:
        sealer = sealer_for(_lab_of(chain))
    except Exception:  # noqa: BLE001
        problem = Problem(chain.name, chain.lab_id, None, "its lab no longer exists")
        return Report(chain.name, chain.lab_id, 0, problem)
    count, problem, _, _ = _walk(chain, sealer)
    return Report(chain.name, chain.lab_id, count, problem)


def verify(lab=None) -> list[Report]:
    """One report per chain (or the lab's), then what the registry of chains contradicts:
    a chain missing, restarted, not registered, or whose head is not the registered one."""
    chains = Chain.objects.order_by("name")
    if lab is not None:
        chains = chains.filter(lab_id=lab.pk)
    reports = {c.name: verify_chain(c) for c in chains}
    return _cross_check({c.name: c for c in chains}, reports, None if lab is None else lab.pk)


REGISTRY = "registry"


def _flag(reports: dict, extra: list, name: str, lab_id, reason: str) -> None:
    """Give the chain's report this problem, or add one if it has a problem already."""
    report = reports.get(name)
    problem = Problem(name, lab_id, None, reason)
    if report is not None and report.problem is None:
        report.problem = problem
    else:
        extra.append(Report(name, lab_id, 0, problem))


def _cross_check(chains: dict, reports: dict, lab_id) -> list[Report]:
    extra: list[Report] = []
    data, wrong = registry.read()
    if wrong == "missing" and Chain.objects.exists():
        _flag({}, extra, REGISTRY, None, "the registry of chains is missing (deleted?)")
    elif wrong == "altered":
        _flag({}, extra, REGISTRY, None, "the registry of chains altered (its MAC does not match)")
    if data is None:
        return [*reports.values(), *extra]

    def concerned(registered_lab) -> bool:
        return lab_id is None or registered_lab == lab_id

    for event in data["events"]:
        if "chain" not in event:
            _flag({}, extra, REGISTRY, None, registry.describe(event))
        elif concerned(event["lab"]):
            _flag(reports, extra, event["chain"], event["lab"], registry.describe(event))
    for name, registered in sorted(data["chains"].items()):
        if not concerned(registered["lab"]):
            continue
        chain = chains.get(name)
        if chain is None:
            _flag(reports, extra, name, registered["lab"],
                  f"missing: the registry has it with its head at entry {registered['seq']}; "
                  "its entries and its row were deleted")
            continue
        if reports[name].problem is not None:
            continue
        last = (Entry.objects.filter(chain=chain).order_by("-seq")
                .values_list("seq", "mac").first())
        reason = registry.head_problem(registered, chain, last)
        if reason:
            _flag(reports, extra, name, chain.lab_id, reason)
    for name in sorted(set(chains) - set(data["chains"])):
        _flag(reports, extra, name, chains[name].lab_id, "not in the registry of chains")
    return [*reports.values(), *extra]


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
