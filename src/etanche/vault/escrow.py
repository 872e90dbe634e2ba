"""Key escrow: what rebuilds the vault's keys, split among custodians (K of N).

Shamir's secret sharing is SatoshiLabs' SLIP-39 reference implementation
(`shamir-mnemonic`): we do no share arithmetic ourselves. SLIP-39 splits a
short secret, so what it splits is a fresh escrow key (a Tink AES-256-GCM
keyset, 108 bytes); the escrowed payload, sealed under that key, travels in
every share file, so any K share files alone rebuild it. Each share file is
age-encrypted to one custodian's public key.

The payload depends on the master-key provider:

- file provider: the master key file itself (the Tink keyset JSON);
- HSM or KMS: the key cannot leave its device, so the payload is what the
  database holds under it: every lab's wrapped keysets and the master-key
  check record. They rebuild a database's keys (after a restore that lost
  them, or into a new database) provided the HSM or KMS key itself survives,
  which is the HSM's backup or the KMS's replication to ensure (docs/deploy.md).
"""

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import shamir_mnemonic
import tink
from django.db import transaction
from tink import aead, secret_key_access

from etanche.vault import age, keyring, master
from etanche.vault.errors import VaultError
from etanche.vault.models import LabKeyset, MasterKeyRecord
from etanche.vault.providers import provider_from_uri
from etanche.vault.providers.file import FileProvider

aead.register()

FORMAT = "etanche-escrow/1"
FILE_KEY = "file-master-key"
WRAPPED_KEYSETS = "wrapped-keysets"
MAX_SHARES = 16  # SLIP-39's limit per group


class EscrowError(VaultError):
    """Escrow or recovery refused; one line, never a share or a key."""


@dataclass(frozen=True)
class Share:
    escrow_id: str
    kind: str
    key_id: str
    number: int
    count: int
    threshold: int
    custodian: str
    created: str
    mnemonic: str
    payload: bytes


def _ad(escrow_id: str, kind: str, key_id: str) -> bytes:
    return f"etanche-escrow\x00{escrow_id}\x00{kind}\x00{key_id}".encode()


def _secret_of(handle) -> bytes:
    raw = tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    # SLIP-39 splits an even number of bytes: a length prefix and a pad byte if needed.
    framed = len(raw).to_bytes(2, "big") + raw
    return framed + b"\0" * (len(framed) % 2)


def _handle_of(secret: bytes):
    size = int.from_bytes(secret[:2], "big")
    return tink.proto_keyset_format.parse(secret[2 : 2 + size], secret_key_access.TOKEN)


def _payload_now() -> tuple[str, str, bytes]:
    """(kind, key_id, payload) for the configured master key."""
    provider, _ = master.kek()
    if isinstance(provider, FileProvider):
        return FILE_KEY, provider.key_id(), provider.path.read_bytes()
    record = MasterKeyRecord.objects.filter(current=True).first()
    bundle = {
        "master": {"key_id": record.key_id,
                   "check_value": base64.b64encode(bytes(record.check_value)).decode()}
        if record else None,
        "keysets": [
            {"lab_id": k.lab_id, "kind": k.kind, "version": k.version, "state": k.state,
             "wrapped": base64.b64encode(bytes(k.wrapped)).decode(), "kek_id": k.kek_id,
             "expected_records": k.expected_records, "index_bits": k.index_bits}
            for k in LabKeyset.objects.order_by("lab_id", "kind", "version")
        ],
    }
    return WRAPPED_KEYSETS, provider.key_id(), json.dumps(bundle).encode()


def split(recipients: list[str], threshold: int) -> tuple[dict, list[bytes]]:
    """Split the current key material for `recipients` (age1..., one share each).

    Returns (summary without secrets, [age-encrypted share file bytes]).
    """
    recipients = [age.parse_recipient(r) for r in recipients]
    if len(set(recipients)) != len(recipients):
        raise EscrowError("each custodian must have a different age key (--to given twice)")
    count = len(recipients)
    if not 2 <= count <= MAX_SHARES:
        raise EscrowError(f"escrow needs 2 to {MAX_SHARES} custodians (--to), got {count}")
    if not 1 <= threshold <= count:
        raise EscrowError(f"--threshold must be between 1 and {count}")
    if threshold == 1:
        raise EscrowError("--threshold 1 would let one custodian alone rebuild the key; use 2 "
                          "or more")
    kind, key_id, payload = _payload_now()
    escrow_id = secrets.token_hex(8)
    handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
    sealed = handle.primitive(aead.Aead).encrypt(payload, _ad(escrow_id, kind, key_id))
    groups = shamir_mnemonic.generate_mnemonics(1, [(threshold, count)], _secret_of(handle))
    created = datetime.now(UTC).isoformat(timespec="seconds")
    files = []
    for number, (recipient, mnemonic) in enumerate(zip(recipients, groups[0], strict=True), 1):
        document = {
            "format": FORMAT, "escrow_id": escrow_id, "kind": kind, "key_id": key_id,
            "share": number, "shares": count, "threshold": threshold, "custodian": recipient,
            "created": created, "mnemonic": mnemonic,
            "payload": base64.b64encode(sealed).decode(),
        }
        files.append(age.encrypt_to(json.dumps(document).encode(), [recipient]))
    summary = {"escrow_id": escrow_id, "kind": kind, "key_id": key_id, "shares": count,
               "threshold": threshold, "custodians": recipients}
    return summary, files


def read_share(data: bytes, identities: list) -> Share:
    """A share from its file: age-encrypted (opened by one of `identities`) or already open."""
    if age.is_age_file(data[:32]):
        if not identities:
            raise EscrowError("a share file is age-encrypted: give its custodian's --identity")
        try:
            data = age.decrypt_with(data, identities)
        except age.DecryptError:
            raise EscrowError("no --identity given opens one of the share files") from None
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise ValueError
        return Share(doc["escrow_id"], doc["kind"], doc["key_id"], int(doc["share"]),
                     int(doc["shares"]), int(doc["threshold"]), doc["custodian"],
                     doc["created"], doc["mnemonic"], base64.b64decode(doc["payload"]))
    except (ValueError, KeyError, TypeError):
        raise EscrowError("a share file is not an Étanche escrow share") from None


def combine(shares: list[Share]) -> tuple[Share, bytes]:
    """(first share, payload) from at least `threshold` shares of one escrow."""
    if not shares:
        raise EscrowError("no share given (--share FILE)")
    first = shares[0]
    if any(s.escrow_id != first.escrow_id for s in shares):
        raise EscrowError("the shares come from different escrows; give shares of one escrow")
    numbers = {s.number for s in shares}
    if len(numbers) < first.threshold:
        raise EscrowError(f"{len(numbers)} distinct share(s) given, this escrow needs "
                          f"{first.threshold} of {first.count}")
    try:
        secret = shamir_mnemonic.combine_mnemonics(
            [s.mnemonic for s in {s.number: s for s in shares}.values()])
        key = _handle_of(secret).primitive(aead.Aead)
        payload = key.decrypt(first.payload, _ad(first.escrow_id, first.kind, first.key_id))
    except (shamir_mnemonic.MnemonicError, tink.TinkError, ValueError):
        raise EscrowError("the shares do not combine (damaged or altered share)") from None
    return first, payload


def restore_file_key(uri: str, payload: bytes) -> FileProvider:
    """Write the recovered master key where `uri` points; never over an existing file."""
    provider = provider_from_uri(uri)
    if not isinstance(provider, FileProvider):
        raise EscrowError("these shares hold a file master key: point ETANCHE_MASTER_KEY at a "
                          "file:// path to rebuild it")
    path = Path(provider.path)
    if path.exists():
        raise EscrowError(f"{path} exists: recovery never overwrites a master key (move it away "
                          "first if it is the wrong one)")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(payload)
        out.flush()
        os.fsync(out.fileno())
    fresh = FileProvider(uri)
    fresh.aead()  # a corrupt payload fails here, loudly
    return fresh


@transaction.atomic
def reinstate_keysets(payload: bytes) -> int:
    """Put back wrapped keysets missing from the database (HSM/KMS escrow). Returns how many.

    Each one must unwrap under the configured master key before it is written.
    """
    bundle = json.loads(payload)
    provider = provider_from_uri(master.configured_uri())
    kek_aead = provider.aead()
    if bundle["master"] and not MasterKeyRecord.objects.filter(current=True).exists():
        master.verify(provider, kek_aead, MasterKeyRecord(
            key_id=bundle["master"]["key_id"],
            check_value=base64.b64decode(bundle["master"]["check_value"])))
        MasterKeyRecord.objects.create(key_id=bundle["master"]["key_id"],
                                       check_value=base64.b64decode(
                                           bundle["master"]["check_value"]))
    added = 0
    for row in bundle["keysets"]:
        if LabKeyset.objects.filter(lab_id=row["lab_id"], kind=row["kind"],
                                    version=row["version"]).exists():
            continue
        wrapped = base64.b64decode(row["wrapped"])
        try:
            keyring.unwrap(wrapped, kek_aead, row["lab_id"], row["kind"], row["version"])
        except tink.TinkError:
            raise EscrowError(f"a keyset of lab #{row['lab_id']} does not unwrap under the "
                              "configured master key") from None
        LabKeyset.objects.create(
            lab_id=row["lab_id"], kind=row["kind"], version=row["version"], state=row["state"],
            wrapped=wrapped, kek_id=row["kek_id"], expected_records=row["expected_records"],
            index_bits=row["index_bits"] or {})
        added += 1
    master.forget()
    return added
