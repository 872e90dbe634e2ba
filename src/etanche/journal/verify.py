"""Verify the journal: every chain from its anchor to its head, then the registry of chains.

A chain verifies when its entries follow each other without a gap from the
first one that must exist (the head's `first`, whose anchor holds the MAC key
sealed at that point) to the recorded head, each MAC matching its entry's
canonical form under the evolving key. The registry of chains then says
whether a whole chain went missing, restarted or rolled back. Problems name
chains and positions only, never an entry's content.
"""

import secrets
from dataclasses import dataclass

from django.db import connection

from etanche.journal import chain as ch
from etanche.journal import registry
from etanche.journal.models import Chain, Entry, Kind
from etanche.labs.models import Lab


def _lab_of(chain: Chain):
    if chain.lab_id is None:
        return None
    return Lab.objects.get(pk=chain.lab_id)


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
        sealer = ch.sealer_for(_lab_of(chain))
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
