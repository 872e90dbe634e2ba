"""The master key (KEK): load it from its provider and check it against the database."""

import threading

import tink
from django.conf import settings
from django.db import transaction

from etanche.vault.errors import MasterKeyMissing, MasterKeyWrong, RefusedOverExistingData
from etanche.vault.models import LabKeyset, MasterKeyRecord
from etanche.vault.providers import KekProvider, provider_from_uri

CHECK_PLAINTEXT = b"etanche master key check"
CHECK_AD = b"etanche-kek-check"

_lock = threading.Lock()
_verified: dict[str, tuple[KekProvider, object]] = {}


def configured_uri() -> str:
    return settings.ETANCHE_MASTER_KEY


def forget() -> None:
    """Drop the cached KEK (after a master rotation, or in tests switching keys)."""
    with _lock:
        _verified.clear()


def _wrong_key(provider: KekProvider, record: MasterKeyRecord) -> MasterKeyWrong:
    return MasterKeyWrong(
        f"the master key {provider.describe()} is not the one this database's keys are "
        f"wrapped with (expected key id {record.key_id}); set ETANCHE_MASTER_KEY to that key "
        "(if a master-key rotation was interrupted, run `etanche keys rotate --master` again)"
    )


def verify(provider: KekProvider, aead, record: MasterKeyRecord | None = None) -> None:
    record = record or MasterKeyRecord.objects.filter(current=True).first()
    if record is None:
        return
    try:
        ok = aead.decrypt(bytes(record.check_value), CHECK_AD) == CHECK_PLAINTEXT
    except tink.TinkError:
        ok = False
    if not ok:
        raise _wrong_key(provider, record)


def kek(uri: str | None = None):
    """The verified master-key Aead for `uri` (default: ETANCHE_MASTER_KEY), cached per process."""
    uri = uri or configured_uri()
    with _lock:
        cached = _verified.get(uri)
    if cached:
        return cached
    provider = provider_from_uri(uri)
    aead = provider.aead()
    verify(provider, aead)
    with _lock:
        _verified[uri] = (provider, aead)
    return provider, aead


def new_check_value(aead) -> bytes:
    return aead.encrypt(CHECK_PLAINTEXT, CHECK_AD)


def _holds_keys() -> bool:
    return MasterKeyRecord.objects.exists() or LabKeyset.objects.exists()


@transaction.atomic
def ensure(*, create: bool) -> tuple[KekProvider, bool]:
    """Make sure a master key exists and is recorded. Returns (provider, created).

    A new key is created only when the database holds no wrapped key at all:
    creating one over existing data would make that data unreadable.
    """
    provider = provider_from_uri(configured_uri())
    record = MasterKeyRecord.objects.select_for_update().filter(current=True).first()
    created = False
    if not provider.exists():
        if _holds_keys():
            raise RefusedOverExistingData(
                f"the database holds keys wrapped by master key {record.key_id if record else '?'} "
                f"but {provider.describe()} does not exist; restore that key from your key backup "
                "(no new key is created over existing data)"
            )
        if not (create and provider.can_create):
            raise MasterKeyMissing(
                f"master key {provider.describe()} does not exist; run `etanche init` to create it"
            )
        provider.create()
        created = True
    aead = provider.aead()
    if record is None:
        if LabKeyset.objects.exists():
            raise RefusedOverExistingData(
                "lab keys exist but the master key record is gone (damaged database); "
                "restore the database from a backup"
            )
        MasterKeyRecord.objects.create(key_id=provider.key_id(), check_value=new_check_value(aead))
    else:
        verify(provider, aead, record)
    return provider, created
