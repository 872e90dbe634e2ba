"""age passphrase encryption (scrypt) of a small file handed to a person who has no
age key: `age -d file.age` asks for the passphrase, given to them separately.

Chosen over a password-protected ZIP: ZIP's legacy encryption is broken and its AES
variant needs a library outside the standard one, while age's scrypt recipient is
the same format and tool as the lab's other encrypted files (vault/age.py).
"""

import secrets

from pyrage import passphrase

# 8 groups of 4 from an unambiguous alphabet: about 160 bits, readable over the phone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_passphrase() -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(8))


def encrypt(data: bytes, secret: str) -> bytes:
    return passphrase.encrypt(data, secret)


def decrypt(data: bytes, secret: str) -> bytes:
    return passphrase.decrypt(data, secret)
