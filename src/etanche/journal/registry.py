"""The registry of chains: which chains exist and where each one's head is, MACed by the vault.

A chain's sealed state proves that its entries hang together, but whoever can
write the database can delete a chain outright (its entries and its row: the
next action starts a new one) or write an older copy of its state back after
deleting the entries since; either leaves a self-consistent chain. The registry
is one row naming every chain (name, id, lab, start time, head seq and MAC),
MACed under an instance key (vault/instance.py) and rewritten in the transaction
of every append, so `verify` names a chain that is missing, restarted, or whose
head is not where the registry says. Writing the whole registry back with the
chains is caught by any other chain that moved since, and otherwise only by
the checkpoints shipped off the database (journal/checkpoints.py).

The registry never forgets an anomaly it saw while appending (a chain restarted
under a registered name, the registry missing or altered): the event stays in
the MACed body and `verify` reports it on every run.

Lock order: the registry first, then the chain (services.record), in every
transaction: a transaction appending to two chains cannot deadlock with another.
Once a chain exists, one statement locks both (`lock_with_chain`), in that order.
"""

import json
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from etanche.journal.chain import from_micros, micros
from etanche.journal.models import Chain, Registry
from etanche.vault import instance

REGISTRY_PK = 1
FORMAT = 1


def _dumps(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _now() -> int:
    return micros(timezone.now())


def _adopted() -> dict:
    """Every chain the database holds, head unknown: what a rebuilt registry can vouch for."""
    return {
        name: {"id": pk, "lab": lab_id, "start_us": None, "seq": None, "mac": None}
        for name, pk, lab_id in Chain.objects.values_list("name", "pk", "lab_id")
    }


def empty_body(chains: dict | None = None, events: list | None = None) -> str:
    return _dumps({"v": FORMAT, "chains": chains or {}, "events": events or []})


def read() -> tuple[dict | None, str | None]:
    """(the registry's content, None) or (None, what is wrong with it); for `verify`."""
    row = Registry.objects.filter(pk=REGISTRY_PK).first()
    if row is None:
        return None, "missing"
    if not instance.registry_mac_ok(row.body.encode(), bytes(row.mac)):
        return None, "altered"
    return json.loads(row.body), None


@dataclass
class Book:
    """The registry locked by this transaction; `save()` writes it back with its MAC."""

    chains: dict
    events: list = field(default_factory=list)

    def started(self, chain: Chain, start_us: int, mac: bytes) -> None:
        known = self.chains.get(chain.name)
        if known is not None and known["id"] != chain.pk:
            self.events.append({"what": "restarted", "chain": chain.name, "lab": chain.lab_id,
                                "at_us": start_us, "old_seq": known["seq"]})
        self.chains[chain.name] = {"id": chain.pk, "lab": chain.lab_id, "start_us": start_us,
                                   "seq": 0, "mac": mac.hex()}

    def moved(self, chain: Chain, seq: int, mac: bytes) -> None:
        known = self.chains.get(chain.name)
        if known is None or known["id"] != chain.pk:
            # A chain row that no append of ours created: note it, then follow it.
            self.events.append({"what": "unregistered", "chain": chain.name,
                                "lab": chain.lab_id, "at_us": _now()})
            known = {"id": chain.pk, "lab": chain.lab_id, "start_us": None}
            self.chains[chain.name] = known
        known["seq"], known["mac"] = seq, mac.hex()

    def save(self) -> None:
        body = empty_body(self.chains, self.events)
        with connection.cursor() as cursor:
            cursor.execute(_UPDATE, [body, instance.registry_mac(body.encode()), REGISTRY_PK])


# Both run on every append: fixed SQL through the cursor costs a third of the ORM's
# query building here (bench/RESULTS.md, Run of issue 16).
_TABLE = Registry._meta.db_table
_SELECT = f"SELECT body, mac FROM {_TABLE} WHERE id = %s"  # noqa: S608  (a constant)
_UPDATE = f"UPDATE {_TABLE} SET body = %s, mac = %s WHERE id = %s"  # noqa: S608
_CHAIN_COLUMNS = ["id", "name", "lab_id", "state", "closed"]
_SELECT_WITH_CHAIN = (
    f"SELECT r.body, r.mac, c.{', c.'.join(_CHAIN_COLUMNS)} "  # noqa: S608  (constants)
    f"FROM {_TABLE} r, {Chain._meta.db_table} c WHERE r.id = %s AND c.name = %s"
)


def _locked_row() -> tuple[str, bytes] | None:
    lock_clause = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(_SELECT + lock_clause, [REGISTRY_PK])
        return cursor.fetchone()


def lock_with_chain(name: str) -> tuple[Book, Chain] | None:
    """The registry and the chain `name`, both locked by ONE statement, registry first
    (PostgreSQL locks a join's rows table by table in FROM order); None when either row
    is missing, for the two-step path (`lock()`, then the chain, started if need be).

    Every append takes this path once its chain exists: one round trip, not two, and
    the registry's lock is held that much less long by every lab's appends."""
    lock_clause = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(_SELECT_WITH_CHAIN + lock_clause, [REGISTRY_PK, name])
        row = cursor.fetchone()
    if row is None:
        return None
    body, mac, *chain_values = row
    chain = Chain.from_db(connection.alias, _CHAIN_COLUMNS, [*chain_values[:3],
                                                             bytes(chain_values[3]),
                                                             chain_values[4]])
    return _book(body, mac), chain


def lock() -> Book:
    """The registry, locked until the caller's transaction ends.

    Missing while chains exist, or altered: rebuilt from the chains present, with
    the event recorded for `verify`. Missing with no chain at all: a new journal.
    """
    row = _locked_row()
    if row is None:
        events = [{"what": "registry-missing", "at_us": _now()}] if Chain.objects.exists() else []
        body = empty_body(_adopted(), events)
        try:
            with transaction.atomic():
                Registry.objects.create(
                    pk=REGISTRY_PK, body=body, mac=instance.registry_mac(body.encode()))
        except IntegrityError:
            pass  # another process created it between our read and our insert
        row = _locked_row()
    return _book(*row)


def _book(body: str, mac) -> Book:
    if not instance.registry_mac_ok(body.encode(), bytes(mac)):
        return Book(_adopted(), [{"what": "registry-altered", "at_us": _now()}])
    data = json.loads(body)
    return Book(data["chains"], data["events"])


# --- what verify says ---------------------------------------------------------------

_EVENTS = {
    "restarted": "restarted: the chain registered under this name (head at entry {old_seq}) "
                 "is gone and a new one began at {at}",
    "unregistered": "its chain row was not created by the journal (found at {at})",
    "registry-missing": "the registry of chains was missing (deleted?) and was rebuilt at {at}",
    "registry-altered": "the registry of chains was altered and was rebuilt at {at}",
}


def describe(event: dict) -> str:
    at = timezone.localtime(from_micros(event["at_us"])).isoformat(timespec="seconds")
    return _EVENTS[event["what"]].format(at=at, old_seq=event.get("old_seq"))


def head_problem(registered: dict, chain: Chain, last: tuple[int, bytes] | None) -> str | None:
    """What the registry's entry for `chain` says is wrong with its head, if anything."""
    if registered["id"] != chain.pk:
        return (f"restarted: the registry knows chain id {registered['id']} under this name, "
                f"the database holds id {chain.pk}")
    if registered["seq"] is None or last is None:
        return None  # adopted without a head, or emptied (the walk says so)
    seq, mac = last
    if seq < registered["seq"]:
        return (f"head rolled back: the registry has it at entry {registered['seq']}, "
                f"the chain ends at entry {seq}")
    if seq > registered["seq"]:
        return (f"head ahead of the registry (entry {seq}, registered {registered['seq']}): "
                "the registry was written back to an older copy")
    if bytes(mac).hex() != registered["mac"]:
        return f"head differs from the registry at entry {seq}"
    return None
