"""The keyed MAC and one-way key evolution behind the journal's chains.

Entry i carries mac_i = BLAKE2b-256 keyed with K_i over mac_{i-1} || canonical(entry_i);
then K_{i+1} = SHA-256(label || K_i) and K_i is forgotten (forward integrity, as in
Schneier-Kelsey logs): whoever steals the current key cannot rewrite what came before.
The journal owns the entries and their canonical form; the keys are made here.
"""

import hashlib
import os
import secrets

EVOLVE_LABEL = b"etanche/journal/evolve/v1"
KEY_BYTES = 32

__all__ = ["KEY_BYTES", "evolve", "link", "new_key", "step", "verify_run"]

_blake2b, _sha256, _compare = hashlib.blake2b, hashlib.sha256, secrets.compare_digest


def new_key() -> bytes:
    """A fresh chain key, for the first entry of a chain."""
    return os.urandom(KEY_BYTES)


def link(key: bytes, prev_mac: bytes, canon: bytes) -> bytes:
    # Keyed BLAKE2b is a MAC by design (no HMAC nesting needed) and about three
    # times faster than HMAC-SHA256 here, which verification at scale needs.
    return _blake2b(prev_mac + canon, key=key, digest_size=32).digest()


def evolve(key: bytes) -> bytes:
    return _sha256(EVOLVE_LABEL + key).digest()


def step(key: bytes, prev_mac: bytes, canon: bytes, mac: bytes) -> bytes | None:
    """The next key if `mac` is the right link for this entry, else None.

    One call per entry for the verify loop, which binds it to a local.
    """
    if not _compare(_blake2b(prev_mac + canon, key=key, digest_size=32).digest(), mac):
        return None
    return _sha256(EVOLVE_LABEL + key).digest()


def verify_run(key: bytes, prev_mac: bytes, canons: list, macs: list):
    """Check a run of consecutive links; (key, prev_mac, None) after the last one, or
    (key, prev_mac, i) at the first link i that does not match (key and prev_mac its own).

    The key ratchets entry by entry, so a chain is checked in order; one call per batch
    keeps the per-entry work to the two C hash calls (`journal verify` at 10^6 entries).
    Equality is compared directly: the stored MACs are public and no attacker times this.
    """
    blake2b, sha256, label = _blake2b, _sha256, EVOLVE_LABEL
    for i, mac in enumerate(macs):
        if blake2b(prev_mac + canons[i], key=key, digest_size=32).digest() != mac:
            return key, prev_mac, i
        key = sha256(label + key).digest()
        prev_mac = mac
    return key, prev_mac, None
