"""Keys for second-factor secrets, derived from the instance secret (docs/adr/0005).

A TOTP seed is sealed with AES-256-GCM and bound to its user; a recovery code
is kept as an HMAC. Both keys come from SECRET_KEY through HKDF, never from the
database, so a dump or a stolen backup of the database alone yields no seed and
no usable code. SECRET_KEY_FALLBACKS keep old seeds and codes readable after a
rotation of the instance secret.
"""

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

FORMAT = 1
NONCE_BYTES = 12
TOTP_PURPOSE = "etanche/accounts/totp-seed/v1"
RECOVERY_PURPOSE = "etanche/accounts/recovery-code/v1"


class SealError(Exception):
    """A sealed seed does not open: wrong instance secret, or a row copied or tampered with."""


def _derive(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"etanche-accounts",
                info=purpose.encode()).derive(secret.encode())


def _keys(purpose: str) -> list[bytes]:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [_derive(secret, purpose) for secret in secrets]


def seal_seed(raw: bytes, *, user_id: int) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    ad = f"totp:{user_id}".encode()
    return bytes([FORMAT]) + nonce + AESGCM(_keys(TOTP_PURPOSE)[0]).encrypt(nonce, raw, ad)


def unseal_seed(token: bytes, *, user_id: int) -> bytes:
    token = bytes(token)
    if len(token) <= 1 + NONCE_BYTES or token[0] != FORMAT:
        raise SealError(f"TOTP seed of user {user_id}: unknown format")
    nonce, body, ad = token[1:1 + NONCE_BYTES], token[1 + NONCE_BYTES:], f"totp:{user_id}".encode()
    for key in _keys(TOTP_PURPOSE):
        try:
            return AESGCM(key).decrypt(nonce, body, ad)
        except InvalidTag:
            continue
    raise SealError(f"TOTP seed of user {user_id} does not open with the instance secret")


def code_digests(code: str, *, user_id: int) -> list[str]:
    """The stored form of a recovery code under the current key, then each fallback key."""
    message = f"{user_id}:{code}".encode()
    return [hmac.new(key, message, hashlib.sha256).hexdigest() for key in _keys(RECOVERY_PURPOSE)]
