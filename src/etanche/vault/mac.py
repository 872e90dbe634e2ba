"""HMAC-SHA256 that keeps the GIL.

`hmac.digest()` (CPython 3.11 with OpenSSL) releases the GIL on every call,
however short the message. In a threaded gunicorn worker (`etanche serve`
runs two threads per worker) the calling thread must then wait for the other
one to hand the GIL back, up to the 5 ms switch interval: measured here at
about 2 ms per call beside a busy thread, against 6 us for
`hmac.new(...).digest()`, which releases the GIL only for messages of 2 KiB
or more. A registration computes eight blind indexes, so the one-shot form
cost the protected path its share of the workers' threads (bench/RESULTS.md,
intake). ruff bans `hmac.digest` (pyproject.toml) so that it does not come back.
"""

import hashlib
import hmac


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def hmac_sha256_many(key: bytes, messages) -> list[bytes]:
    """hmac_sha256 of each message under one key: the keyed state is built once and copied
    (`HMAC.copy`, documented), which skips the key's padding and its two first blocks on
    every message: 1.2 instead of 1.9 us here, on the eight blind indexes of each imported
    or demo row. Same digests (tests/vault)."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    out = []
    for message in messages:
        one = keyed.copy()
        one.update(message)
        out.append(one.digest())
    return out
