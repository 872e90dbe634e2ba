from django.db import models

from etanche.vault.sealed import SealedModel


class Person(SealedModel):
    """A synthetic sealed identity with the integer index columns a real app would add."""

    nir_index = models.IntegerField(null=True, db_index=True)
    surname_index = models.IntegerField(null=True, db_index=True)


class Note(SealedModel):
    """A second sealed record type, to prove ciphertexts do not move between types,
    with a clear column bound to its envelope (as an order's patient is)."""

    BOUND_FIELDS = ("topic",)

    topic = models.CharField(max_length=20, blank=True)
