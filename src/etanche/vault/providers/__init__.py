"""Master key (KEK) providers, chosen by the ETANCHE_MASTER_KEY URI.

- ``file://PATH``: a Tink AES-256-GCM keyset in a 0600 file (the default);
- ``pkcs11:...`` or ``pkcs11://...``: an AES-256 key that never leaves an HSM;
- any URI a Tink KMS client handles (``aws-kms://``, ``gcp-kms://``,
  ``hcvault://``, or a client registered with ``tink.register_kms_client``).

Every provider hands out an object with Tink's Aead interface
(``encrypt(plaintext, associated_data)`` / ``decrypt``), so the vault wraps
and unwraps lab keysets through Tink's own encrypted-keyset format whatever
holds the master key.
"""

from etanche.vault.errors import MasterKeyError
from etanche.vault.providers.base import KekProvider
from etanche.vault.providers.file import FileProvider
from etanche.vault.providers.kms import KmsProvider
from etanche.vault.providers.pkcs11 import Pkcs11Provider


def provider_from_uri(uri: str) -> KekProvider:
    if not uri:
        raise MasterKeyError("ETANCHE_MASTER_KEY is empty; set it to a key URI such as file:///path")
    if uri.startswith("file://"):
        return FileProvider(uri)
    if uri.startswith("pkcs11:"):
        return Pkcs11Provider(uri)
    if "://" in uri:
        return KmsProvider(uri)
    raise MasterKeyError(
        "ETANCHE_MASTER_KEY is not a key URI; use file://PATH, pkcs11:... or a KMS URI"
    )


__all__ = ["KekProvider", "provider_from_uri"]
