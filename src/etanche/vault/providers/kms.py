"""Cloud KMS master keys through Tink's KMS clients.

Tink ships clients for AWS KMS (``aws-kms://arn:...``), Google Cloud KMS
(``gcp-kms://projects/...``) and HashiCorp Vault transit (``hcvault://...``);
each needs its extra (``tink[awskms]``, ``tink[gcpkms]``, ``tink[hcvault]``),
which Étanche does not install by default. Any other client registered with
``tink.register_kms_client`` is used as is, which is how the tests run
against an in-process fake.
"""

import hashlib
import os

import tink

from etanche.vault.errors import ProviderUnavailable
from etanche.vault.providers.base import KekProvider

_EXTRAS = {"aws-kms://": "awskms", "gcp-kms://": "gcpkms", "hcvault://": "hcvault"}


def _register_builtin(uri: str) -> None:
    prefix = next((p for p in _EXTRAS if uri.startswith(p)), None)
    if prefix is None:
        raise ProviderUnavailable(
            "no Tink KMS client handles this ETANCHE_MASTER_KEY scheme; "
            "use file://, pkcs11:, aws-kms://, gcp-kms:// or hcvault://"
        )
    extra = _EXTRAS[prefix]
    credentials = os.environ.get("ETANCHE_KMS_CREDENTIALS") or None
    # Imported here: each client is an optional extra of Tink (and hvac), absent by default.
    try:
        if extra == "awskms":
            from tink.integration import awskms  # noqa: PLC0415

            awskms.AwsKmsClient.register_client(uri, credentials)
        elif extra == "gcpkms":
            from tink.integration import gcpkms  # noqa: PLC0415

            gcpkms.GcpKmsClient.register_client(uri, credentials)
        else:
            import hvac  # noqa: PLC0415
            from tink.integration import hcvault  # noqa: PLC0415

            aead = hcvault.new_aead(uri, hvac.Client())  # VAULT_ADDR, VAULT_TOKEN
            tink.register_kms_client(_FixedClient(uri, aead))
    except ImportError:
        raise ProviderUnavailable(
            f"{prefix} master keys need Tink's {extra} extra: pip install 'tink[{extra}]'"
        ) from None


class _FixedClient(tink.KmsClient):
    def __init__(self, uri, aead):
        self._uri, self._aead = uri, aead

    def does_support(self, key_uri: str) -> bool:
        return key_uri == self._uri

    def get_aead(self, key_uri: str):
        return self._aead


class KmsProvider(KekProvider):
    def describe(self) -> str:
        return self.uri

    def key_id(self) -> str:
        # A KMS key URI names a key, not a secret; hashed to keep the column short.
        return "kms:" + hashlib.sha256(self.uri.encode()).hexdigest()[:16]

    def exists(self) -> bool:
        return True

    def aead(self):
        try:
            client = tink.kms_client_from_uri(self.uri)
        except tink.TinkError:
            _register_builtin(self.uri)
            client = tink.kms_client_from_uri(self.uri)
        try:
            return client.get_aead(self.uri)
        except (tink.TinkError, ValueError) as exc:
            raise ProviderUnavailable(
                f"the KMS refused the master key {self.uri} ({type(exc).__name__}); "
                "check the key URI and the credentials"
            ) from None
