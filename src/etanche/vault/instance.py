"""Keys derived from the instance secret (SECRET_KEY), for what has no lab (docs/adr/0005).

Second factors belong to users, not labs, and the system journal chain
records events with no lab (a failed login for an unknown name): their keys
come from SECRET_KEY through HKDF, never from the database, so a dump or a
stolen backup of the database alone yields no TOTP seed, no usable recovery
code and no way to rewrite the system chain. SECRET_KEY_FALLBACKS keep what
was sealed before a rotation of the instance secret readable.

The labels, salts and token formats below are fixed: changing one makes
existing seeds, codes and chains unreadable.

- TOTP seed: format (1 byte, = 1) | nonce (12) | AES-256-GCM, bound to the user id;
- recovery code: HMAC-SHA256 hex of "user_id:code";
- activation link: HMAC-SHA256 hex of the link's random token;
- personal API token: HMAC-SHA256 hex of the token (accounts/tokens.py);
- FHIR paging cursor: nonce (12) | AES-256-GCM of the JSON state, base64url, bound to
  the API token it was issued to (a cursor may carry search criteria: never in clear);
- system chain secret: nonce (12) | AES-256-GCM of the JSON fields, bound to
  "record_type|record_id";
- lockout counters: HMAC-SHA256 hex of a label under SECRET_KEY itself;
- session key: HMAC-SHA256 hex of the key, under the current key only.
"""

import base64
import functools
import hashlib
import hmac
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from etanche.vault.errors import InstanceSealError

FORMAT = 1
NONCE_BYTES = 12
ACCOUNTS_SALT = b"etanche-accounts"
TOTP_PURPOSE = b"etanche/accounts/totp-seed/v1"
RECOVERY_PURPOSE = b"etanche/accounts/recovery-code/v1"
SESSION_PURPOSE = b"etanche/accounts/session-key/v1"
ACTIVATION_PURPOSE = b"etanche/accounts/activation-link/v1"
API_TOKEN_PURPOSE = b"etanche/accounts/api-token/v1"
CURSOR_PURPOSE = b"etanche/fhir/paging-cursor/v1"
SYSTEM_CHAIN_PURPOSE = b"etanche/journal/system-chain/v1"
SYSTEM_SIGNING_PURPOSE = b"etanche/journal/system-checkpoint/v1"
REGISTRY_PURPOSE = b"etanche/journal/chain-registry/v1"

__all__ = [
    "InstanceSealError",
    "activation_digests",
    "api_token_digests",
    "counter_digest",
    "open_cursor",
    "recovery_code_digests",
    "registry_mac",
    "registry_mac_ok",
    "seal_cursor",
    "seal_system",
    "seal_totp_seed",
    "session_digest",
    "system_signing_seed",
    "unseal_system",
    "unseal_totp_seed",
]


@functools.lru_cache(maxsize=64)
def _derive(secret: str, salt: bytes | None, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=purpose).derive(
        secret.encode()
    )


def _secrets() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def _keys(salt: bytes | None, purpose: bytes) -> list[bytes]:
    """The current key first, then one per fallback secret."""
    return [_derive(secret, salt, purpose) for secret in _secrets()]


# --- second factors -----------------------------------------------------------


def _totp_ad(user_id: int) -> bytes:
    return f"totp:{user_id}".encode()


def seal_totp_seed(raw: bytes, *, user_id: int) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    key = _keys(ACCOUNTS_SALT, TOTP_PURPOSE)[0]
    return bytes([FORMAT]) + nonce + AESGCM(key).encrypt(nonce, raw, _totp_ad(user_id))


def unseal_totp_seed(token: bytes, *, user_id: int) -> bytes:
    token = bytes(token)
    if len(token) <= 1 + NONCE_BYTES or token[0] != FORMAT:
        raise InstanceSealError(f"TOTP seed of user {user_id}: unknown format")
    nonce, body = token[1 : 1 + NONCE_BYTES], token[1 + NONCE_BYTES :]
    for key in _keys(ACCOUNTS_SALT, TOTP_PURPOSE):
        try:
            return AESGCM(key).decrypt(nonce, body, _totp_ad(user_id))
        except InvalidTag:
            continue
    raise InstanceSealError(f"TOTP seed of user {user_id} does not open with the instance secret")


def recovery_code_digests(code: str, *, user_id: int) -> list[str]:
    """The stored form of a recovery code under the current key, then each fallback key."""
    message = f"{user_id}:{code}".encode()
    return [
        hmac.new(key, message, hashlib.sha256).hexdigest()
        for key in _keys(ACCOUNTS_SALT, RECOVERY_PURPOSE)
    ]


def activation_digests(token: str) -> list[str]:
    """The stored form of an activation link's token, current key first, then each fallback.

    Keyed, so a database copy can neither use a pending link nor test guesses offline.
    """
    message = token.encode()
    return [hmac.new(key, message, hashlib.sha256).hexdigest()
            for key in _keys(ACCOUNTS_SALT, ACTIVATION_PURPOSE)]


def api_token_digests(token: str) -> list[str]:
    """The stored form of a personal API token, current key first, then each fallback:
    a database copy neither authenticates nor lets guesses be tested offline."""
    message = token.encode()
    return [hmac.new(key, message, hashlib.sha256).hexdigest()
            for key in _keys(ACCOUNTS_SALT, API_TOKEN_PURPOSE)]


def seal_cursor(state: dict, *, bound_to: str) -> str:
    """An opaque paging cursor (URL-safe text) for `state`, readable only by this instance
    and only for `bound_to` (the API token's id): a next link carries no criteria in clear."""
    nonce = os.urandom(NONCE_BYTES)
    aead = AESGCM(_keys(None, CURSOR_PURPOSE)[0])
    body = aead.encrypt(nonce, json.dumps(state).encode(), f"cursor:{bound_to}".encode())
    return base64.urlsafe_b64encode(nonce + body).decode().rstrip("=")


def open_cursor(text: str, *, bound_to: str) -> dict | None:
    """The state of a cursor made by seal_cursor for `bound_to`; None if it is not one."""
    if not text or len(text) > 4000:
        return None
    try:
        token = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None
    nonce, body = token[:NONCE_BYTES], token[NONCE_BYTES:]
    for key in _keys(None, CURSOR_PURPOSE):
        try:
            plain = AESGCM(key).decrypt(nonce, body, f"cursor:{bound_to}".encode())
        except (InvalidTag, ValueError):
            continue
        try:
            state = json.loads(plain)
        except ValueError:
            return None
        return state if isinstance(state, dict) else None
    return None


def counter_digest(message: bytes) -> str:
    """A lockout counter's name: says who is locked to no one who reads the table.

    Keyed with SECRET_KEY itself (no fallback): counters live minutes, and a
    rotation of the secret simply starts them afresh.
    """
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def session_digest(session_key: str) -> str:
    """The only form of a session key the database keeps: a copy of it is no cookie.

    Under the current key only: rotating the instance secret ends every session,
    which is what a rotation after a suspected leak should do anyway.
    """
    key = _keys(ACCOUNTS_SALT, SESSION_PURPOSE)[0]
    return hmac.new(key, session_key.encode(), hashlib.sha256).hexdigest()


# --- the system journal chain -------------------------------------------------


def _system_ad(record_type: str, record_id: str) -> bytes:
    return f"{record_type}|{record_id}".encode()


def seal_system(record_type: str, record_id: str, fields: dict) -> bytes:
    """Seal the system chain's secrets (its evolving key, its anchors)."""
    nonce = os.urandom(NONCE_BYTES)
    aead = AESGCM(_keys(None, SYSTEM_CHAIN_PURPOSE)[0])
    plaintext = json.dumps(fields).encode()
    return nonce + aead.encrypt(nonce, plaintext, _system_ad(record_type, record_id))


def unseal_system(record_type: str, record_id: str, token: bytes) -> dict:
    token = bytes(token)
    nonce, body = token[:NONCE_BYTES], token[NONCE_BYTES:]
    for key in _keys(None, SYSTEM_CHAIN_PURPOSE):
        try:
            plaintext = AESGCM(key).decrypt(nonce, body, _system_ad(record_type, record_id))
        except (InvalidTag, ValueError):
            continue
        return json.loads(plaintext)
    raise InstanceSealError(
        f"the system journal's {record_type} {record_id} does not open with the instance secret"
    )


def system_signing_seed() -> bytes:
    """The Ed25519 seed that signs the system chain's checkpoints (vault/signing.py)."""
    return _keys(None, SYSTEM_SIGNING_PURPOSE)[0]


# --- the journal's registry of chains ------------------------------------------


def registry_mac(body: bytes) -> bytes:
    """The MAC of the journal's registry of chains (every chain and its head), under the
    instance key: it covers labs and the system alike, so no lab's key can make it."""
    return hmac.new(_keys(None, REGISTRY_PURPOSE)[0], body, hashlib.sha256).digest()


def registry_mac_ok(body: bytes, mac: bytes) -> bool:
    return any(
        hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), bytes(mac))
        for key in _keys(None, REGISTRY_PURPOSE)
    )
