"""The MAC chain that makes the journal tamper-evident: entries, their canonical form, sealed heads.

Each entry i carries mac_i = MAC(K_i, mac_{i-1} || canonical(entry_i)), then the key
evolves one way and K_i is forgotten (forward integrity, as in Acra's audit log or
Schneier-Kelsey logs): whoever steals the current key cannot rewrite what was
written before. The MAC and the evolution are the vault's (vault/chainmac.py);
this module owns what is chained and how the chain's secrets are stored.

Keys never sit in clear in the database. The evolving key and the head (last
seq and MAC, first seq that must exist) live in the chain's sealed `state`;
the key at the first entry to verify from is sealed in that entry's `anchor`.
A lab's chain is sealed by the vault under the lab's data keys; the system
chain (events with no lab, e.g. a failed login for an unknown name) under a
key the vault derives from the instance secret (vault/instance.py).
"""

import base64
import json
from datetime import UTC, datetime, timedelta

from etanche.vault import instance
from etanche.vault import services as vault

# Re-exported: the rest of the journal reaches the vault's chain primitives through here.
from etanche.vault.chainmac import evolve as evolve
from etanche.vault.chainmac import link as link
from etanche.vault.chainmac import new_key as new_key
from etanche.vault.chainmac import step as step
from etanche.vault.chainmac import verify_run as verify_run

SEP = "\x1f"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
ZERO_MAC = b"\x00" * 32


def micros(at: datetime) -> int:
    return (at - EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def canonical(
    seq,
    kind,
    at_us,
    lab_id,
    user_id,
    actor,
    action,
    object_type,
    object_id,
    purpose,
    outcome,
    detail,
) -> bytes:
    # Fields are codes, ids and short texts; SEP cannot occur in them (clean() strips it).
    return SEP.join(
        (
            str(seq),
            kind,
            str(at_us),
            "" if lab_id is None else str(lab_id),
            "" if user_id is None else str(user_id),
            actor,
            action,
            object_type,
            object_id,
            purpose,
            outcome,
            detail,
        )
    ).encode()


def clean(text: str, limit: int) -> str:
    return (text or "").replace(SEP, " ")[:limit]


def dumps_detail(detail: dict | None) -> str:
    if not detail:
        return ""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


class SystemSealer:
    """Seals the system chain's secrets with the vault's instance-secret key."""

    def seal(self, record_type: str, record_id: str, fields: dict) -> bytes:
        return instance.seal_system(record_type, record_id, fields)

    def unseal(self, record_type: str, record_id: str, token: bytes) -> dict:
        return instance.unseal_system(record_type, record_id, token)


class LabSealer:
    """Seals a lab chain's secrets with the lab's vault keys."""

    def __init__(self, lab):
        self.lab = lab

    def seal(self, record_type: str, record_id: str, fields: dict) -> bytes:
        return vault.seal(self.lab, record_type, record_id, fields)

    def unseal(self, record_type: str, record_id: str, token: bytes) -> dict:
        return vault.unseal(self.lab, record_type, record_id, bytes(token))


def sealer_for(lab):
    """The sealer of `lab`'s chain; None: the system chain."""
    return SystemSealer() if lab is None else LabSealer(lab)


def seal_state(sealer, chain_id: int, *, key: bytes, seq: int, mac: bytes, first: int) -> bytes:
    return sealer.seal(
        "journal.state",
        str(chain_id),
        {"key": _b64(key), "seq": seq, "mac": _b64(mac), "first": first},
    )


def unseal_state(sealer, chain_id: int, token: bytes) -> tuple[bytes, int, bytes, int]:
    fields = sealer.unseal("journal.state", str(chain_id), token)
    return _unb64(fields["key"]), fields["seq"], _unb64(fields["mac"]), fields["first"]


def seal_anchor(sealer, chain_id: int, seq: int, key: bytes) -> bytes:
    return sealer.seal("journal.anchor", f"{chain_id}:{seq}", {"key": _b64(key)})


def unseal_anchor(sealer, chain_id: int, seq: int, token: bytes) -> bytes:
    return _unb64(sealer.unseal("journal.anchor", f"{chain_id}:{seq}", token)["key"])
