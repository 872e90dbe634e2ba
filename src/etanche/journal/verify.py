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
from etanche.lib.forked import fork_workers, ordered_map


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


# Rows travel in batches: bounded memory at any chain length, one vault call per batch.
BATCH = 2_000
# PostgreSQL sends the canonical forms (chain.canonical()'s rule: the fields' text joined
# by SEP, a NULL id as "") and the MACs as arrays of BATCH entries, in COPY's binary format:
# no per-row work in Python before the MAC. Identifiers and constants only; values are
# parameters.
_CANONICAL = ("convert_to(concat_ws(E'\\x1f', seq, kind, at_us, coalesce(lab_id::text, ''), "
              "coalesce(user_id::text, ''), actor, action, object_type, object_id, purpose, "
              "outcome, detail), 'UTF8')")


def _where(stop_before: int | None) -> str:
    return "chain_id = %s" + ("" if stop_before is None else " AND seq < %s")


def _params(chain: Chain, stop_before: int | None) -> list:
    return [chain.pk] if stop_before is None else [chain.pk, stop_before]


def _copy_batches(chain: Chain, stop_before: int | None):
    table = connection.ops.quote_name(Entry._meta.db_table)
    query = (f"COPY (SELECT array_agg({_CANONICAL} ORDER BY seq), array_agg(mac ORDER BY seq) "  # noqa: S608  identifiers
             f"FROM {table} WHERE {_where(stop_before)} GROUP BY seq / %s ORDER BY seq / %s) "
             "TO STDOUT (FORMAT BINARY)")
    with connection.cursor() as cursor:
        # Django's wrapper over psycopg's cursor, whose COPY is psycopg's own API.
        with cursor.cursor.copy(query, [*_params(chain, stop_before), BATCH, BATCH]) as copy:
            copy.set_types(["bytea[]", "bytea[]"])
            yield from copy.rows()


def _cursor_batches(chain: Chain, stop_before: int | None):
    """SQLite: a plain cursor; ch.canonical() inlined (one call less per row)."""
    table = connection.ops.quote_name(Entry._meta.db_table)
    sep = ch.SEP
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(_FIELDS[:-1])} FROM {table} "  # noqa: S608  identifiers
            f"WHERE {_where(stop_before)} ORDER BY seq",
            _params(chain, stop_before),
        )
        while rows := cursor.fetchmany(BATCH):
            canons = [
                sep.join((str(seq), kind, str(at_us), "" if lab_id is None else str(lab_id),
                          "" if user_id is None else str(user_id), actor, action, otype, oid,
                          purpose, outcome, detail)).encode()
                for (seq, kind, at_us, lab_id, user_id, actor, action, otype, oid, purpose,
                     outcome, detail, _) in rows
            ]
            yield canons, [bytes(row[-1]) for row in rows]


def _batches(chain: Chain, stop_before: int | None = None):
    """(canonical forms, MACs) of the chain's entries in order, in batches of BATCH."""
    if connection.vendor == "postgresql":
        return _copy_batches(chain, stop_before)
    return _cursor_batches(chain, stop_before)


def _walk(chain: Chain, sealer, stop_before: int | None = None):
    """Verify a chain from its first entry; return (count, problem, key, prev) where
    key/prev are the MAC key and previous MAC at `stop_before` (or after the end).

    The MACs vouch for every position: a row deleted, inserted, moved or replayed
    breaks the link at its place, so the rows' seq are read only to name a problem.
    """
    count = 0

    def bad(seq, reason):
        return count, Problem(chain.name, chain.lab_id, seq, reason), None, None

    try:
        _, head_seq, head_mac, first = ch.unseal_state(sealer, chain.pk, chain.state)
    except Exception:  # noqa: BLE001  any failure to open the head is a finding, not a crash
        return bad(None, "head state cannot be opened (altered, or keys missing)")
    entries = Entry.objects.filter(chain=chain)
    if stop_before is not None:
        entries = entries.filter(seq__lt=stop_before)
    start = entries.order_by("seq").values_list("seq", "anchor").first()
    if start is None:
        return bad(first, "no entries: the chain was emptied")
    if start[0] != first:
        if start[0] > first:
            return bad(first, f"missing (deleted); next present is {start[0]}")
        return bad(start[0], "out of order or duplicated")
    if start[1] is None:
        return bad(first, "first entry has no anchor: earlier entries were deleted")
    try:
        material = ch.unseal_anchor(sealer, chain.pk, first, start[1])
    except Exception:  # noqa: BLE001
        return bad(first, "anchor cannot be opened (altered or moved)")
    end = entries.filter(kind=Kind.END).order_by("seq").values_list("seq", flat=True).first()
    key, prev = material[:32], material[32:]
    for canons, macs in _batches(chain, stop_before):
        key, prev, at = ch.verify_run(key, prev, canons, macs)
        if at is not None:
            expected = first + count + at
            if end is not None and end < expected:
                count = end - first + 1
                return bad(end + 1, "written after the chain's end marker")
            count += at
            seq = int(canons[at].split(ch.SEP.encode(), 1)[0])
            if seq > expected:
                return bad(expected, f"missing (deleted); next present is {seq}")
            if seq < expected:
                return bad(seq, "out of order or duplicated")
            return bad(seq, "content or position altered (MAC mismatch)")
        count += len(macs)
    last = first + count - 1
    if end is not None and end < last:
        count = end - first + 1
        return bad(end + 1, "written after the chain's end marker")
    if stop_before is not None:
        if last < stop_before - 1:
            return bad(last + 1, f"missing (deleted); next present is {stop_before}")
        return count, None, key, prev
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


def _verify_pk(chain_pk: int) -> Report:
    """One chain's report, in a forked worker (which opens its own connection)."""
    return verify_chain(Chain.objects.get(pk=chain_pk))


def verify(lab=None, *, workers: int | None = None) -> list[Report]:
    """One report per chain (or the lab's), then what the registry of chains contradicts:
    a chain missing, restarted, not registered, or whose head is not the registered one.

    Chains are independent: with several, each goes to a forked worker (one per core, or
    `workers`), unless the caller runs threads or holds a transaction (lib/forked.py).
    """
    chains = Chain.objects.order_by("name")
    if lab is not None:
        chains = chains.filter(lab_id=lab.pk)
    chains = {c.name: c for c in chains}
    count = fork_workers(workers, len(chains), 2)
    done = ordered_map(_verify_pk, [c.pk for c in chains.values()], count)
    reports = dict(zip(chains, done, strict=True))
    return _cross_check(chains, reports, None if lab is None else lab.pk)


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
