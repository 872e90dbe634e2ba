"""Signed checkpoints: the chain heads, signed and shipped off the machine.

The MAC chain shows any change made inside the database, but not a rollback of
the whole database to an older, self-consistent state. A checkpoint is a
signed statement "chain C had MAC M at entry N", written to a file outside the
data directory (by default, `etanche serve` every round; docs/journal.md), on
another system or to syslog; `etanche journal verify` reads the default file
when it exists (or `--checkpoints FILE`) and proves the database still holds
every entry those statements saw, and no chain restarted since.
"""

import json
import logging
import logging.handlers
import os
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.db.models import Max, Min

from etanche.journal import services
from etanche.journal.chain import micros
from etanche.journal.models import Action, Chain, Entry, Kind
from etanche.vault import signing


def _payload(statement: dict) -> bytes:
    body = {k: v for k, v in statement.items() if k != "sig"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def make_checkpoints(lab=None) -> list[dict]:
    """Append a CHECKPOINT entry to each chain (or the lab's) and return signed statements."""
    chains = Chain.objects.filter(closed=False).order_by("name")
    if lab is not None:
        chains = chains.filter(lab_id=lab.pk)
    statements = []
    for chain in chains:
        chain_lab = services._lab_of(chain)
        with transaction.atomic():
            entry = services.record(lab=chain_lab, user=None, action=Action.CHECKPOINT)
        statement = {
            "v": 1,
            "chain": chain.name,
            "lab_id": chain.lab_id,
            "seq": entry.seq,
            "mac": bytes(entry.mac).hex(),
            "at": entry.at.isoformat(),
            "pub": signing.journal_public_key(chain.lab_id),
        }
        statement["sig"] = signing.sign_journal(chain.lab_id, _payload(statement))
        statements.append(statement)
    return statements


def ship(statements: list[dict], target: str) -> None:
    """Write statements to `file:PATH` (appended, mode 0600) or `syslog[:HOST:PORT]`."""
    lines = [json.dumps(s, sort_keys=True) for s in statements]
    if target.startswith("file:"):
        path = target[len("file:") :]
        # The default target's directory sits beside the data directory: made on first use.
        Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line + "\n")
        return
    if target == "syslog" or target.startswith("syslog:"):
        rest = target[len("syslog:") :] if ":" in target else ""
        if rest:
            host, _, port = rest.rpartition(":")
            address = (host, int(port))
        else:
            address = "/dev/log"
        handler = logging.handlers.SysLogHandler(address=address)
        logger = logging.getLogger("etanche.journal.checkpoint")
        logger.propagate = False
        logger.addHandler(handler)
        try:
            for line in lines:
                logger.warning("etanche-checkpoint %s", line)
        finally:
            logger.removeHandler(handler)
            handler.close()
        return
    raise services.JournalError(f"unknown checkpoint target {target!r} (file:PATH or syslog)")


def _parse(lines):
    """(statements by chain name, problems): each statement as (line number, fields, signature)."""
    by_chain: dict[str, list] = {}
    problems = []
    for number, line in enumerate(lines, start=1):
        line = line.strip().strip("\x00")  # syslog appends a NUL
        if not line:
            continue
        try:
            statement = json.loads(line)
            name, seq = statement["chain"], int(statement["seq"])
            signature = bytes.fromhex(statement["sig"])
            datetime.fromisoformat(statement["at"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"checkpoint line {number}: not a checkpoint statement")
            continue
        by_chain.setdefault(name, []).append((seq, number, statement, signature))
    return by_chain, problems


def _public_key(chain) -> str | None:
    try:
        return signing.journal_public_key(chain.lab_id)
    except Exception:  # noqa: BLE001  a shredded lab's keys are gone: said, not a crash
        return None


def check_statements(lines) -> list[str]:
    """Return one problem line per chain that the checkpoints contradict.

    Each chain is held to its latest statement with a valid signature (the chain's
    MACs vouch for everything before it); statements whose signature fails are named.
    """
    by_chain, problems = _parse(lines)
    for name in sorted(by_chain):
        chain = Chain.objects.filter(name=name).first()
        latest = sorted(by_chain[name], key=lambda item: item[0], reverse=True)
        if chain is None:
            number = latest[0][1]
            problems.append(f"checkpoint line {number}: chain {name} is missing from the database")
            continue
        public = _public_key(chain)
        if public is None:
            problems.append(f"checkpoints of chain {name}: cannot be checked, its keys are gone")
            continue
        for seq, number, statement, signature in latest:
            if not signing.verify_journal_signature(public, signature, _payload(statement)):
                problems.append(f"checkpoint line {number}: signature invalid for chain {name}")
                continue
            problem = _contradiction(chain, seq, statement)
            if problem:
                problems.append(f"checkpoint line {number}: {problem}")
            break
    return problems


def _contradiction(chain, seq: int, statement: dict) -> str | None:
    name, entries = chain.name, Entry.objects.filter(chain=chain)
    at_us = micros(datetime.fromisoformat(statement["at"]))
    start = entries.filter(kind=Kind.START).values_list("at_us", flat=True).first()
    if start is not None and start > at_us:
        return (f"journal {name} restarted after the checkpoint of {statement['at']} "
                "(its start entry is newer): the chain it saw is gone")
    stored = entries.filter(seq=seq).values_list("mac", flat=True).first()
    bounds = entries.aggregate(first=Min("seq"), last=Max("seq"))
    if stored is None and (bounds["first"] is None or seq >= bounds["first"]):
        return (f"journal {name} entry {seq} is gone (database rolled back or truncated): "
                f"head rolled back to entry {bounds['last']}, older than the checkpoint")
    if stored is not None and bytes(stored).hex() != statement["mac"]:
        return f"journal {name} entry {seq} differs"
    return None
