"""`SealedModel`, the base of every model that holds identity or health data.

It lives apart from vault/models.py because sealing needs the vault's services,
which need the keyring, which needs the key-storage models: kept in one module,
they would import each other in a loop.
"""

from etanche.vault import services
from etanche.vault.models import SealedColumns, sealed_models

__all__ = ["SealedModel", "sealed_models"]


class SealedModel(SealedColumns):
    """Base of every model that holds sealed data.

    Subclasses keep operational columns in clear and everything identifying in
    `sealed`. Use `set_sealed(dict)` / `get_sealed()`; `etanche keys rotate`
    re-seals every concrete subclass (found through `sealed_models()`).
    """

    #: Bump when the layout of the sealed dict changes; old rows keep theirs.
    SEALED_SCHEMA_VERSION = 1

    class Meta:
        abstract = True

    @classmethod
    def record_type(cls) -> str:
        return cls._meta.label_lower

    def set_sealed(self, fields: dict) -> None:
        self.sealed = services.seal(
            self.lab_id, self.record_type(), self.pk, fields, self.SEALED_SCHEMA_VERSION
        )
        self.key_version = services.token_key_version(self.sealed)

    def get_sealed(self) -> dict:
        token = bytes(self.sealed)
        return services.unseal(
            self.lab_id, self.record_type(), self.pk, token, services.token_schema_version(token)
        )
