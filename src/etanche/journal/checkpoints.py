"""Signed checkpoints: the chain heads, signed and shipped off the machine.

The MAC chain shows any change made inside the database, but not a rollback of
the whole database to an older, self-consistent state. A checkpoint is a
signed statement "chain C had MAC M at entry N", written to a file on another
system or to syslog; `etanche journal verify --checkpoints FILE` then proves
the database still holds every entry those statements saw.
"""

import json
import logging
import logging.handlers
import os

from django.db import transaction

from etanche.journal import services
from etanche.journal.models import Action, Chain, Entry
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


def check_statements(lines) -> list[str]:
    """Return one problem line per statement that the database contradicts."""
    problems = []
    for number, line in enumerate(lines, start=1):
        line = line.strip().strip("\x00")  # syslog appends a NUL
        if not line:
            continue
        try:
            statement = json.loads(line)
            name, seq, mac = statement["chain"], int(statement["seq"]), statement["mac"]
            signature = bytes.fromhex(statement["sig"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"checkpoint line {number}: not a checkpoint statement")
            continue
        chain = Chain.objects.filter(name=name).first()
        if chain is None:
            problems.append(f"checkpoint line {number}: chain {name} is missing from the database")
            continue
        public = signing.journal_public_key(chain.lab_id)
        if not signing.verify_journal_signature(public, signature, _payload(statement)):
            problems.append(f"checkpoint line {number}: signature invalid for chain {name}")
            continue
        stored = Entry.objects.filter(chain=chain, seq=seq).values_list("mac", flat=True).first()
        first = (
            Entry.objects.filter(chain=chain).order_by("seq").values_list("seq", flat=True).first()
        )
        if stored is None and (first is None or seq >= first):
            problems.append(
                f"checkpoint line {number}: journal {name} entry {seq} is gone "
                "(database rolled back or truncated)"
            )
        elif stored is not None and bytes(stored).hex() != mac:
            problems.append(f"checkpoint line {number}: journal {name} entry {seq} differs")
    return problems
