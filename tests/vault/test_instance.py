"""vault/instance.py and vault/signing.py keep the derivations of the code they replaced.

Seeds, recovery codes, the system chain and its checkpoints were sealed or
signed before these keys moved into the vault: each test rebuilds a value the
old way, straight from the primitives, and checks that the vault opens or
reproduces it.
"""

import hashlib
import hmac
import json
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from etanche.vault import chainmac, instance, signing

SECRET = "test-instance-secret-" + "s" * 40


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.SECRET_KEY = SECRET
    settings.SECRET_KEY_FALLBACKS = []


def _hkdf(secret: str, salt, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(
        secret.encode()
    )


def test_it_opens_a_totp_seed_sealed_by_the_former_accounts_sealing():
    key = _hkdf(SECRET, b"etanche-accounts", b"etanche/accounts/totp-seed/v1")
    nonce = os.urandom(12)
    token = b"\x01" + nonce + AESGCM(key).encrypt(nonce, b"synthetic-seed-20byte", b"totp:42")
    assert instance.unseal_totp_seed(token, user_id=42) == b"synthetic-seed-20byte"
    with pytest.raises(instance.InstanceSealError, match="user 43"):
        instance.unseal_totp_seed(token, user_id=43)


def test_it_computes_recovery_digests_as_before():
    key = _hkdf(SECRET, b"etanche-accounts", b"etanche/accounts/recovery-code/v1")
    expected = hmac.new(key, b"7:abcd2345", hashlib.sha256).hexdigest()
    assert instance.recovery_code_digests("abcd2345", user_id=7) == [expected]


def test_it_names_lockout_counters_as_before():
    expected = hmac.new(SECRET.encode(), b"etanche.lockout.account:x", hashlib.sha256).hexdigest()
    assert instance.counter_digest(b"etanche.lockout.account:x") == expected


def test_it_opens_a_system_chain_secret_sealed_by_the_former_system_sealer(settings):
    aead = AESGCM(_hkdf(SECRET, None, b"etanche/journal/system-chain/v1"))
    nonce = os.urandom(12)
    token = nonce + aead.encrypt(nonce, json.dumps({"key": "AAAA"}).encode(), b"journal.state|1")
    assert instance.unseal_system("journal.state", "1", token) == {"key": "AAAA"}
    with pytest.raises(instance.InstanceSealError):
        instance.unseal_system("journal.state", "2", token)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "rotated-" + "r" * 50, [SECRET]
    assert instance.unseal_system("journal.state", "1", token) == {"key": "AAAA"}
    resealed = instance.seal_system("journal.state", "1", {"key": "AAAA"})
    settings.SECRET_KEY_FALLBACKS = []
    assert instance.unseal_system("journal.state", "1", resealed) == {"key": "AAAA"}
    with pytest.raises(instance.InstanceSealError):
        instance.unseal_system("journal.state", "1", token)


def test_it_signs_system_checkpoints_with_the_former_key():
    seed = _hkdf(SECRET, None, b"etanche/journal/system-checkpoint/v1")
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw().hex()
    assert signing.journal_public_key(None) == public
    signature = bytes.fromhex(signing.sign_journal(None, b"statement"))
    assert signing.verify_journal_signature(public, signature, b"statement")
    assert not signing.verify_journal_signature(public, signature, b"statement!")
    assert not signing.verify_journal_signature("00" * 32, signature, b"statement")


def test_it_links_and_evolves_chain_keys_as_before():
    key, prev, canon = b"k" * 32, b"\x00" * 32, b"0\x1fstart"
    mac = hashlib.blake2b(prev + canon, key=key, digest_size=32).digest()
    evolved = hashlib.sha256(b"etanche/journal/evolve/v1" + key).digest()
    assert chainmac.link(key, prev, canon) == mac
    assert chainmac.evolve(key) == evolved
    assert chainmac.step(key, prev, canon, mac) == evolved
    assert chainmac.step(key, prev, canon + b"!", mac) is None
    assert len(chainmac.new_key()) == 32 and chainmac.new_key() != chainmac.new_key()
