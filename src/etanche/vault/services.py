"""The vault's public interface: the only code that encrypts, decrypts or indexes.

    from etanche.vault import services as vault
    vault.provision_lab(lab, expected_records=1_000_000)   # fixes index sizes
    token = vault.seal(lab, "patients.patient", patient.pk, {"birth_name": ...})
    fields = vault.unseal(lab, "patients.patient", patient.pk, token)
    vault.blind_index(lab, "nir", "180017512345678")

`lab` is a Lab or its primary key. Tokens are bytes:

    format (1 byte, = 2) | key version (4 bytes) | schema version (2 bytes) | AES-256-GCM

and the associated data binds them to the header, the lab, the record type,
the record id and the schema version, so a token copied onto another row,
record type or lab does not open; and to `bound`, the row's clear columns that
give the sealed data its meaning (an order's patient and status, an export's
recipient, the row's revision: SealedModel.BOUND_FIELDS), so that changing
one of them in the database, or putting back an older token, is detected.
Format 1 tokens (before binding) still open with their old associated data;
`etanche keys rotate` re-seals them as format 2 (docs/security.md).
"""

import json
import struct

import tink

from etanche.vault import indexes, keyring
from etanche.vault.errors import (
    LabKeysCorrupt,
    LabKeysMissing,
    MasterKeyError,
    MasterKeyMissing,
    MasterKeyWrong,
    RefusedOverExistingData,
    TamperedData,
    UnknownIndex,
    VaultError,
)
from etanche.vault.mac import hmac_sha256, hmac_sha256_many

__all__ = [
    "LabKeysCorrupt",
    "LabKeysMissing",
    "MasterKeyError",
    "MasterKeyMissing",
    "MasterKeyWrong",
    "RefusedOverExistingData",
    "TamperedData",
    "UnknownIndex",
    "VaultError",
    "blind_index",
    "blind_indexes",
    "derive_key",
    "derive_salted_key",
    "index_sizes",
    "keyed_digest",
    "provision_lab",
    "seal",
    "seal_many",
    "token_format",
    "token_key_version",
    "token_schema_version",
    "unseal",
]

FORMAT = 2
LEGACY_FORMAT = 1  # read only: bound to (lab, type, id) alone
HEADER = struct.Struct(">BIH")


def provision_lab(lab, expected_records: int = indexes.DEFAULT_EXPECTED) -> bool:
    """Give the lab its AEAD and PRF keysets (version 1) and its blind-index sizes,
    derived once from `expected_records` (vault/indexes.py). Idempotent; returns created."""
    return keyring.provision(lab, expected_records)


def index_sizes(lab) -> tuple[int | None, dict[str, int]]:
    """(expected patients, {index name: bits}) of the lab; None: provisioned before
    per-lab sizing (every index 12 bits)."""
    keys = keyring.get(lab)
    return keys.expected_records, {name: keys.index_bits(name) for name in indexes.INDEXES}


# One encoder each, made once: json.dumps with these options builds a new encoder per call,
# which was a third of a bulk unseal's associated-data cost. Same bytes as json.dumps.
_FIELDS_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                allow_nan=False)
_BOUND_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _encode(fields: dict) -> bytes:
    if not isinstance(fields, dict) or not all(isinstance(k, str) for k in fields):
        raise VaultError("sealed fields must be a dict with string keys")
    try:
        return _FIELDS_JSON.encode(fields).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        # The exception text would quote the value: keep it out of logs.
        raise VaultError(
            "sealed fields must be JSON values (str, int, bool, None, list, dict); "
            "convert dates to ISO strings"
        ) from None


def _ad(header: bytes, lab_id: int, record_type: str, record_id, bound=None, *,
        encoded_bound: bytes | None = None) -> bytes:
    ad = header + f"\x00{lab_id}\x00{record_type}\x00{record_id}".encode()
    if header[0] == LEGACY_FORMAT:
        return ad
    return ad + b"\x00" + (encoded_bound if encoded_bound is not None else _encode_bound(bound))


def _encode_bound(bound) -> bytes:
    if bound is None:
        return b"{}"
    if not isinstance(bound, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str | int | bool))
        for k, v in bound.items()
    ):
        raise VaultError("bound columns must be a dict of str, int, bool or None values")
    return _BOUND_JSON.encode(bound).encode()


def _check_target(record_type: str, record_id) -> None:
    if not record_type or record_id is None or record_id == "":
        raise VaultError(
            "sealing needs a record type and a record id (save or assign the pk first)"
        )


def seal(lab, record_type: str, record_id, fields: dict, schema_version: int = 1, *,
         bound: dict | None = None) -> bytes:
    """`bound`: clear values of the row the token must stay with ({name: str, int, bool
    or None}); unseal must be given the same ones."""
    _check_target(record_type, record_id)
    keys = keyring.get(lab, fresh_primary=True)
    header = HEADER.pack(FORMAT, keys.primary_version, schema_version)
    body = keys.aeads[keys.primary_version].encrypt(
        _encode(fields), _ad(header, keys.lab_id, record_type, record_id, bound)
    )
    return header + body


def seal_many(lab, record_type: str, items, schema_version: int = 1, *,
              bound: dict | None = None) -> list[bytes]:
    """Seal many records with one key lookup: the bulk path (demo, import, rotation).
    `items`: (record id, fields) or (record id, fields, bound) tuples; `bound`, the bound
    values every pair shares (new rows: revision 1, not merged), encoded once."""
    keys = keyring.get(lab, fresh_primary=True)
    header = HEADER.pack(FORMAT, keys.primary_version, schema_version)
    primitive = keys.aeads[keys.primary_version]
    shared = _encode_bound(bound)
    out = []
    for record_id, fields, *own in items:
        _check_target(record_type, record_id)
        ad = _ad(header, keys.lab_id, record_type, record_id, own[0] if own else None,
                 encoded_bound=None if own else shared)
        out.append(header + primitive.encrypt(_encode(fields), ad))
    return out


def _parse(token) -> tuple[bytes, int, int, bytes]:
    token = bytes(token)
    if len(token) <= HEADER.size:
        raise TamperedData("a sealed value is truncated or empty (damaged database row)")
    header = token[: HEADER.size]
    fmt, key_version, schema_version = HEADER.unpack(header)
    if fmt not in (FORMAT, LEGACY_FORMAT):
        raise TamperedData(f"a sealed value has unknown format {fmt} (damaged database row)")
    return header, key_version, schema_version, token[HEADER.size :]


def token_key_version(token) -> int:
    return _parse(token)[1]


def token_schema_version(token) -> int:
    return _parse(token)[2]


def token_format(token) -> int:
    return _parse(token)[0][0]


def unseal(lab, record_type: str, record_id, token, schema_version: int = 1, *,
           bound: dict | None = None) -> dict:
    header, key_version, token_schema, body = _parse(token)
    if token_schema != schema_version:
        raise TamperedData(
            f"a sealed {record_type} has schema version {token_schema}, expected {schema_version}"
        )
    keys = keyring.get_with_version(lab, key_version)
    return _open(keys, record_type, record_id, header, key_version, body, bound)


def unseal_many(lab, record_type: str, items) -> list[dict]:
    """Unseal many records of one type with one key lookup: the bulk read path (search
    candidates, breach scan, export). `items`: (record id, token, bound) tuples; each
    token's own schema version is taken (what the caller would pass to unseal)."""
    keys = keyring.get(lab, fresh_primary=True)  # as get_with_version: a shred is felt
    out = []
    for record_id, token, bound in items:
        header, key_version, _, body = _parse(token)
        if key_version not in keys.aeads:
            keys = keyring.get_with_version(lab, key_version)
        out.append(_open(keys, record_type, record_id, header, key_version, body, bound))
    return out


def _open(keys, record_type: str, record_id, header: bytes, key_version: int, body: bytes,
          bound) -> dict:
    primitive = keys.aeads.get(key_version)
    if primitive is None:
        raise TamperedData(
            f"a sealed {record_type} names key version {key_version}, which lab "
            f"#{keys.lab_id} does not have (damaged row or keys restored from an older backup)"
        )
    try:
        plaintext = primitive.decrypt(
            body, _ad(header, keys.lab_id, record_type, record_id, bound)
        )
    except tink.TinkError:
        raise TamperedData(
            f"a sealed {record_type} (id {record_id}) does not open: it, or a clear column "
            "bound to it, was altered, moved from another row or lab, or put back from an "
            "older copy; restore the row from a backup"
        ) from None
    return json.loads(plaintext)


def blind_index(lab, index_name: str, normalised_value: str) -> int:
    return blind_indexes(lab, index_name, [normalised_value])[0]


def blind_indexes(lab, index_name: str, values) -> list[int]:
    spec = indexes.get(index_name)
    keys = keyring.get(lab)
    key = keys.index_key(spec.name)
    shift = 64 - keys.index_bits(spec.name)
    messages = []
    for value in values:
        if not isinstance(value, str) or not value:
            raise VaultError(
                f"blind index {index_name}: values must be non-empty strings (store NULL)"
            )
        messages.append(value.encode("utf-8"))
    return [int.from_bytes(digest[:8], "big") >> shift
            for digest in hmac_sha256_many(key, messages)]


def derive_key(lab, purpose: str) -> bytes:
    """A 32-byte key for `purpose` ("journal-chain", "export-pseudonym:<id>"), stable per lab.

    Derived from the lab's PRF keyset, which key rotation leaves alone: what
    other apps build on it (journal chains, pseudonyms) stays verifiable.
    """
    if not purpose:
        raise VaultError("derive_key needs a purpose label")
    return keyring.get(lab).derive(purpose)


def derive_salted_key(lab, purpose: str, salt: bytes) -> bytes:
    """`derive_key(lab, purpose)` re-keyed with a random salt kept elsewhere (an export's
    pseudonyms: without the salt, which is sealed with the export, they cannot be recomputed)."""
    return hmac_sha256(derive_key(lab, purpose), salt)


def keyed_digest(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of `message` under a key from `derive_key` / `derive_salted_key`."""
    return hmac_sha256(key, message)
