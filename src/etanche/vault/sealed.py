"""`SealedModel`, the base of every model that holds identity or health data.

It lives apart from vault/models.py because sealing needs the vault's services,
which need the keyring, which needs the key-storage models: kept in one module,
they would import each other in a loop.

A row's token is bound to the row's `revision` and to the clear columns its
model names in BOUND_FIELDS (issue 16, item 9): an `UPDATE` of one of them, or an
older token put back, makes `get_sealed` raise TamperedData. Saving an instance
whose bound columns changed re-seals it in the same save, so the services just
change columns and save; paths that bypass `save()` (queryset `update`,
`bulk_create`, COPY) must seal with `binding_of` themselves.
"""

import enum
from datetime import date

from etanche.vault import services
from etanche.vault.models import SealedColumns, sealed_models

__all__ = ["SEAL_COLUMNS", "SealedModel", "sealed_models"]

# What every re-seal writes: a save(update_fields=...) that re-seals gets them added.
SEAL_COLUMNS = ("sealed", "key_version", "revision")


def _plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


class SealedModel(SealedColumns):
    """Base of every model that holds sealed data.

    Subclasses keep operational columns in clear and everything identifying in
    `sealed`. Use `set_sealed(dict)` / `get_sealed()`; `etanche keys rotate`
    re-seals every concrete subclass (found through `sealed_models()`).
    """

    #: Bump when the layout of the sealed dict changes; old rows keep theirs.
    SEALED_SCHEMA_VERSION = 1
    #: Attribute names (`patient_id`, not `patient`) of the clear columns whose change
    #: would give the sealed data another meaning: who it belongs to, what may be done
    #: with it. Str, int, bool, date or None values; `revision` is always bound.
    BOUND_FIELDS: tuple[str, ...] = ()

    class Meta:
        abstract = True

    @classmethod
    def record_type(cls) -> str:
        return cls._meta.label_lower

    @classmethod
    def bound_columns(cls) -> tuple[str, ...]:
        return ("revision", *cls.BOUND_FIELDS)

    @classmethod
    def opening_columns(cls) -> tuple[str, ...]:
        """The columns `open_row` needs, for `values_list(*Model.opening_columns())`."""
        return ("pk", "lab_id", "sealed", *cls.bound_columns())

    @classmethod
    def binding_of(cls, values: dict) -> dict:
        """The associated data's bound values from {column: value}; every bound column,
        nothing else (a bulk path that forgets one must fail loudly, not seal unbound)."""
        if set(values) != set(cls.bound_columns()):
            raise services.VaultError(
                f"{cls.record_type()} binds {', '.join(cls.bound_columns())}; "
                f"got {', '.join(sorted(values))}"
            )
        return {name: _plain(values[name]) for name in cls.bound_columns()}

    @classmethod
    def open_row(cls, values) -> dict:
        """Unseal from plain values in `opening_columns()` order (the fast bulk read)."""
        pk, lab_id, token, *bound = values
        token = bytes(token)
        binding = cls.binding_of(dict(zip(cls.bound_columns(), bound, strict=True)))
        return services.unseal(lab_id, cls.record_type(), pk, token,
                               services.token_schema_version(token), bound=binding)

    @classmethod
    def open_rows(cls, rows) -> list[dict]:
        """`open_row` of many rows of one lab, with one key lookup (services.unseal_many)."""
        rows = list(rows)
        if not rows:
            return []
        lab_id, names = rows[0][1], cls.bound_columns()
        if any(row[1] != lab_id for row in rows):
            raise services.VaultError("open_rows reads the rows of one lab at a time")
        items = [(pk, bytes(token), cls.binding_of(dict(zip(names, bound, strict=True))))
                 for pk, _, token, *bound in rows]
        return services.unseal_many(lab_id, cls.record_type(), items)

    def current_binding(self) -> dict:
        return self.binding_of({name: getattr(self, name) for name in self.bound_columns()})

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._remember_binding()
        return instance

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        fields = kwargs.get("fields")
        if fields is None or {"sealed", *self.bound_columns()} & set(fields):
            self._remember_binding()

    def _remember_binding(self) -> None:
        # What the token was read with: the check at read time, and what a later save
        # unseals with when the services changed a bound column in memory.
        deferred = self.get_deferred_fields()
        known = "sealed" not in deferred and not deferred & set(self.bound_columns())
        self._sealed_binding = self._stored_binding = self.current_binding() if known else None

    def _open(self, binding: dict) -> dict:
        token = bytes(self.sealed)
        return services.unseal(self.lab_id, self.record_type(), self.pk, token,
                               services.token_schema_version(token), bound=binding)

    def set_sealed(self, fields: dict) -> None:
        self._seal(fields, self.SEALED_SCHEMA_VERSION)

    def reseal(self) -> None:
        """Seal the same envelope again under the primary key (rotation), keeping its
        schema version; an older token (format 1, before binding) comes out bound."""
        schema = services.token_schema_version(bytes(self.sealed))
        self._seal(self.get_sealed(), schema)

    def _seal(self, fields: dict, schema_version: int) -> None:
        self.revision = (self.revision or 0) + 1
        binding = self.current_binding()
        self.sealed = services.seal(
            self.lab_id, self.record_type(), self.pk, fields, schema_version, bound=binding
        )
        self.key_version = services.token_key_version(self.sealed)
        self._sealed_binding = binding

    def get_sealed(self) -> dict:
        """The envelope, checked against the bound columns as they were read (or sealed)."""
        return self._open(getattr(self, "_sealed_binding", None) or self.current_binding())

    def save(self, *args, **kwargs):
        sealed_with = getattr(self, "_sealed_binding", None)
        if sealed_with is not None and sealed_with != self.current_binding():
            self.set_sealed(self._open(sealed_with))
        stored = getattr(self, "_stored_binding", None)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and stored is not None:
            current = self.current_binding()
            changed = [name for name in current if current[name] != stored[name]]
            if changed:
                # A new token and the columns it binds are written together, listed or not.
                kwargs["update_fields"] = {*update_fields, *changed, *SEAL_COLUMNS}
        super().save(*args, **kwargs)
        self._stored_binding = getattr(self, "_sealed_binding", None)
