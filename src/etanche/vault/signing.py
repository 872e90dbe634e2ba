"""Ed25519 signatures of the journal's statements (checkpoints, signed exports).

A lab chain is signed with a key derived from the lab's PRF keyset (stable
across data-key rotations); the system chain with one derived from the
instance secret. The journal decides what is signed; the keys stay here.
"""

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from etanche.vault import instance, services

SIGNING_PURPOSE = "journal-checkpoint-signing"

__all__ = ["journal_public_key", "sign_journal", "verify_journal_signature"]


def _private(lab) -> Ed25519PrivateKey:
    """`lab`: a Lab, its primary key, or None for the system chain."""
    if lab is None:
        seed = instance.system_signing_seed()
    else:
        seed = services.derive_key(lab, SIGNING_PURPOSE)
    return Ed25519PrivateKey.from_private_bytes(seed)


def journal_public_key(lab) -> str:
    """The hex public key that verifies what `sign_journal(lab, ...)` signs."""
    return _private(lab).public_key().public_bytes_raw().hex()


def sign_journal(lab, payload: bytes) -> str:
    """The hex Ed25519 signature of `payload` under the lab's (or the system's) key."""
    return _private(lab).sign(payload).hex()


def verify_journal_signature(public_hex: str, signature: bytes, payload: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(signature, payload)
    except (InvalidSignature, ValueError):
        return False
    return True
