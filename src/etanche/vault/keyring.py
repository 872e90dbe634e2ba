"""Per-lab keys: provisioning, unwrapping, and the in-process cache.

Unwrapping goes through the KEK (a file read, an HSM or a KMS call), so each
process unwraps a lab's keysets once and keeps the Tink primitives. The cache
notices a rotation by re-reading the primary version at most every
VAULT_RECHECK_SECONDS when sealing, and at once when asked to open a version
it does not hold.
"""

import threading
import time
from dataclasses import dataclass, field

import tink
from django.conf import settings
from django.db import transaction
from tink import aead, prf

from etanche.vault import indexes, master
from etanche.vault.errors import LabKeysCorrupt, LabKeysMissing, RefusedOverExistingData
from etanche.vault.models import LabKeyset, ShreddedLab, sealed_models

aead.register()
prf.register()

AEAD_TEMPLATE = aead.aead_key_templates.AES256_GCM_RAW  # our header carries the version
PRF_TEMPLATE = prf.prf_key_templates.HMAC_SHA256
INDEX_KEY_LABEL = b"etanche-blind-index\x00"
DERIVE_LABEL = b"etanche-derive\x00"


def lab_pk(lab) -> int:
    return lab if isinstance(lab, int) else lab.pk


def keyset_ad(lab_id: int, kind: str, version: int) -> bytes:
    # Binds a wrapped keyset to its row: another lab's keyset pasted here does not open.
    return f"etanche-keyset\x00{lab_id}\x00{kind}\x00{version}".encode()


def wrap(handle, kek_aead, lab_id: int, kind: str, version: int) -> bytes:
    return tink.proto_keyset_format.serialize_encrypted(
        handle, kek_aead, keyset_ad(lab_id, kind, version)
    )


def unwrap(blob: bytes, kek_aead, lab_id: int, kind: str, version: int):
    return tink.proto_keyset_format.parse_encrypted(
        bytes(blob), kek_aead, keyset_ad(lab_id, kind, version)
    )


@dataclass
class LabKeys:
    lab_id: int
    primary_version: int
    aeads: dict[int, aead.Aead]
    prf: prf.Prf
    checked_at: float
    primary_row: tuple[int, bytes]
    # Fixed at provisioning (vault/indexes.py); read with the keysets, so free per call.
    expected_records: int | None = None
    stored_bits: dict[str, int] = field(default_factory=dict)
    _index_keys: dict[str, bytes] = field(default_factory=dict)

    def index_bits(self, name: str) -> int:
        bits = self.stored_bits.get(name)
        if bits is None:
            bits = indexes.stored_bits(name, self.expected_records, self.stored_bits)
            self.stored_bits[name] = bits
        return bits

    def index_key(self, name: str) -> bytes:
        key = self._index_keys.get(name)
        if key is None:
            key = self.prf.compute(INDEX_KEY_LABEL + name.encode(), 32)
            self._index_keys[name] = key
        return key

    def derive(self, purpose: str) -> bytes:
        return self.prf.compute(DERIVE_LABEL + purpose.encode(), 32)


_lock = threading.Lock()
_cache: dict[int, LabKeys] = {}


def forget(lab=None) -> None:
    with _lock:
        if lab is None:
            _cache.clear()
        else:
            _cache.pop(lab_pk(lab), None)


def _missing(lab_id: int) -> LabKeysMissing:
    shred = ShreddedLab.objects.filter(lab_id=lab_id).first()
    if shred:
        return LabKeysMissing(
            f"the keys of lab #{lab_id} were shredded on {shred.shredded_at:%Y-%m-%d}; "
            "its sealed data cannot be recovered"
        )
    return LabKeysMissing(
        f"lab #{lab_id} has no keys; create labs with `etanche labs create` (which provisions them)"
    )


def _load(lab_id: int) -> LabKeys:
    rows = list(LabKeyset.objects.filter(lab_id=lab_id))
    aead_rows = [r for r in rows if r.kind == LabKeyset.AEAD]
    prf_rows = [r for r in rows if r.kind == LabKeyset.PRF and r.state == LabKeyset.PRIMARY]
    primary = [r for r in aead_rows if r.state == LabKeyset.PRIMARY]
    if not primary or not prf_rows:
        raise _missing(lab_id)
    for attempt in (1, 2):
        _, kek_aead = master.kek()
        try:
            aeads = {
                r.version: unwrap(r.wrapped, kek_aead, lab_id, r.kind, r.version).primitive(
                    aead.Aead
                )
                for r in aead_rows
            }
            prf_row = prf_rows[0]
            prf_set = unwrap(prf_row.wrapped, kek_aead, lab_id, prf_row.kind, prf_row.version)
            prf_primitive = prf_set.primitive(prf.PrfSet).primary()
            break
        except tink.TinkError:
            if attempt == 1:
                # Another process may have rotated the master key since ours was checked.
                master.forget()
                continue
            # The KEK passed its check, so the keyset row itself is damaged or was moved.
            raise LabKeysCorrupt(
                f"a keyset of lab #{lab_id} does not unwrap under the right master key "
                "(damaged or tampered database row); restore vault_labkeyset from a backup"
            ) from None
    row = (primary[0].version, bytes(primary[0].wrapped))
    return LabKeys(lab_id, primary[0].version, aeads, prf_primitive, time.monotonic(), row,
                   prf_row.expected_records, dict(prf_row.index_bits or {}))


def get(lab, *, fresh_primary: bool = False) -> LabKeys:
    """The lab's keys. `fresh_primary`: make sure the primary version is current (for sealing)."""
    lab_id = lab_pk(lab)
    with _lock:
        keys = _cache.get(lab_id)
    if keys is not None and fresh_primary:
        if time.monotonic() - keys.checked_at > settings.VAULT_RECHECK_SECONDS:
            current = (
                LabKeyset.objects.filter(
                    lab_id=lab_id, kind=LabKeyset.AEAD, state=LabKeyset.PRIMARY
                )
                .values_list("version", "wrapped")
                .first()
            )
            # The wrapped bytes, not just the version: a rolled-back lab whose id
            # was reused (tests) or a re-wrap under a new KEK also counts as a change.
            if current is None or (current[0], bytes(current[1])) != keys.primary_row:
                keys = None
            else:
                keys.checked_at = time.monotonic()
    if keys is None:
        keys = _load(lab_id)
        with _lock:
            _cache[lab_id] = keys
    return keys


def get_with_version(lab, version: int) -> LabKeys:
    # The periodic primary check also makes a shred in another process felt here.
    keys = get(lab, fresh_primary=True)
    if version not in keys.aeads:
        forget(lab)
        keys = get(lab)
    return keys


def _has_sealed_rows(lab_id: int) -> bool:
    return any(m.objects.filter(lab_id=lab_id).exists() for m in sealed_models())


@transaction.atomic
def provision(lab, expected_records: int = indexes.DEFAULT_EXPECTED) -> bool:
    """Create the lab's AEAD and PRF keysets (version 1) unless they exist. Returns created.

    The PRF row also fixes the lab's blind-index sizes from `expected_records`, for
    the lab's life: a lab already provisioned keeps the sizes it has.
    """
    bits = indexes.plan(expected_records)
    lab_id = lab_pk(lab)
    existing = LabKeyset.objects.select_for_update().filter(lab_id=lab_id)
    if existing.exists():
        return False
    if ShreddedLab.objects.filter(lab_id=lab_id).exists():
        raise RefusedOverExistingData(
            f"lab #{lab_id} was shredded; a shredded lab gets no new keys (create a new lab)"
        )
    if _has_sealed_rows(lab_id):
        raise RefusedOverExistingData(
            f"lab #{lab_id} has sealed records but no keys (damaged database); restore "
            "the vault_labkeyset table from a backup: no new key is created over existing data"
        )
    provider, _ = master.ensure(create=True)
    _, kek_aead = master.kek()
    for kind, template in ((LabKeyset.AEAD, AEAD_TEMPLATE), (LabKeyset.PRF, PRF_TEMPLATE)):
        handle = tink.new_keyset_handle(template)
        LabKeyset.objects.create(
            lab_id=lab_id,
            kind=kind,
            version=1,
            state=LabKeyset.PRIMARY,
            wrapped=wrap(handle, kek_aead, lab_id, kind, 1),
            kek_id=provider.key_id(),
            **({"expected_records": expected_records, "index_bits": bits}
               if kind == LabKeyset.PRF else {}),
        )
    forget(lab_id)
    return True
