"""How each model field holding (or derived from) personal data is protected.

Every model of the project declares `PERSONAL_DATA = {field name: Protection}`
covering each of its concrete fields; tests/test_data_classification.py walks
all models and fails on a field nobody classified, so a new column cannot slip
in unexamined (a rule borrowed from OpenSAFELY's job-server).
"""

from enum import StrEnum


class Protection(StrEnum):
    # Not personal data: ids of non-persons, settings, counters, flags.
    NONE = "none"
    # Pseudonymous: random ids, foreign keys, timestamps, lab. Personal only when
    # joined with the sealed identity, which needs the lab's keys.
    PSEUDONYMOUS = "pseudonymous"
    # One AEAD envelope per row, bound to lab, model, id and schema version (vault).
    SEALED = "sealed"
    # A truncated keyed PRF of a normalised value (vault blind index): many
    # records share each value on purpose, so it does not single out a person.
    BLIND_INDEX = "blind-index"
    # A one-way or keyed hash (passwords with Argon2id, throttling keys).
    HASHED = "hashed"
    # Key material wrapped by the master key, MACs, secrets of the system.
    KEY_MATERIAL = "key-material"
    # Staff identity (named accounts, their work email and network address):
    # personal data in clear by design, since access must be attributable.
    STAFF_CLEAR = "staff-clear"


def classification(model) -> dict[str, Protection]:
    return dict(getattr(model, "PERSONAL_DATA", None) or {})


def unclassified_fields(model, declared: dict | None = None) -> list[str]:
    """Concrete fields of `model` missing from its classification (or from `declared`)."""
    table = classification(model) if declared is None else declared
    return [f.name for f in model._meta.concrete_fields if f.name not in table]
