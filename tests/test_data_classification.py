"""Every field of every model of the project says whether it is personal data and how it is
protected (job-server's rule): a new column fails here until someone classifies it.

Models declare `PERSONAL_DATA = {field: Protection}` (etanche.lib.personal_data). Models
written before that rule are classified below, until their owners move the table onto
the model; a field missing from both places fails the same way.
"""

from django.apps import apps
from django.db import models

from etanche.lib.personal_data import Protection as P
from etanche.lib.personal_data import classification, unclassified_fields
from etanche.vault.sealed import SealedModel

_STAFF_ID = {"id": P.PSEUDONYMOUS}
NOT_YET_ON_MODEL: dict[str, dict[str, P]] = {
    "accounts.User": {
        "id": P.PSEUDONYMOUS, "password": P.HASHED, "last_login": P.STAFF_CLEAR,
        "is_superuser": P.NONE, "username": P.STAFF_CLEAR, "is_staff": P.NONE,
        "is_active": P.NONE, "date_joined": P.STAFF_CLEAR, "first_name": P.STAFF_CLEAR,
        "last_name": P.STAFF_CLEAR, "email": P.STAFF_CLEAR, "must_change_password": P.NONE,
        "password_changed_at": P.STAFF_CLEAR,
    },
    "accounts.Membership": {
        **_STAFF_ID, "user": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "role": P.STAFF_CLEAR,
        "is_active": P.NONE, "created_at": P.STAFF_CLEAR,
    },
    "accounts.SessionRecord": {
        **_STAFF_ID, "user": P.PSEUDONYMOUS, "session_key": P.HASHED,
        "address": P.STAFF_CLEAR, "user_agent": P.STAFF_CLEAR, "started_at": P.STAFF_CLEAR,
        "last_seen_at": P.STAFF_CLEAR, "ended_at": P.STAFF_CLEAR,
    },
    "accounts.SharedUseFlag": {
        **_STAFF_ID, "user": P.PSEUDONYMOUS, "first_session": P.PSEUDONYMOUS,
        "second_session": P.PSEUDONYMOUS, "detected_at": P.STAFF_CLEAR,
        "first_address": P.STAFF_CLEAR, "second_address": P.STAFF_CLEAR,
        "same_user_agent": P.NONE,
    },
    "vault.MasterKeyRecord": {
        "id": P.NONE, "key_id": P.NONE, "check_value": P.KEY_MATERIAL, "current": P.NONE,
        "created_at": P.NONE, "retired_at": P.NONE,
    },
    "vault.LabKeyset": {
        "id": P.NONE, "lab": P.NONE, "kind": P.NONE, "version": P.NONE, "state": P.NONE,
        "wrapped": P.KEY_MATERIAL, "kek_id": P.NONE, "created_at": P.NONE,
        # The lab's expected size and blind-index widths: configuration, no one's data.
        "expected_records": P.NONE, "index_bits": P.NONE,
    },
    "vault.ShreddedLab": {"id": P.NONE, "lab": P.NONE, "shredded_at": P.NONE},
    "vault.RotationJob": {
        "id": P.NONE, "lab": P.NONE, "target_version": P.NONE, "model_label": P.NONE,
        "cursor": P.PSEUDONYMOUS, "moved": P.NONE, "started_at": P.NONE, "finished_at": P.NONE,
    },
    "labs.Lab": {
        "id": P.NONE, "slug": P.NONE, "name": P.NONE, "finess": P.NONE, "created_at": P.NONE,
    },
    # The journal holds who did what (staff, in clear by design) to which pseudonymous id.
    "journal.Chain": {
        "id": P.NONE, "name": P.NONE, "lab_id": P.NONE, "state": P.KEY_MATERIAL,
        "closed": P.NONE, "created_at": P.NONE,
    },
    "journal.Entry": {
        "id": P.NONE, "chain": P.NONE, "seq": P.NONE, "kind": P.NONE,
        "at_us": P.STAFF_CLEAR, "lab_id": P.PSEUDONYMOUS, "user_id": P.PSEUDONYMOUS,
        "actor": P.STAFF_CLEAR, "action": P.STAFF_CLEAR, "object_type": P.NONE,
        "object_id": P.PSEUDONYMOUS, "purpose": P.STAFF_CLEAR, "outcome": P.NONE,
        "detail": P.PSEUDONYMOUS, "mac": P.KEY_MATERIAL, "anchor": P.KEY_MATERIAL,
    },
    # Chain names, ids, lab ids, head positions and MACs: nothing about a person.
    "journal.Registry": {"id": P.NONE, "body": P.PSEUDONYMOUS, "mac": P.KEY_MATERIAL},
    "journal.Cursor": {"id": P.NONE, "consumer": P.NONE, "chain": P.NONE, "seq": P.NONE},
}

# Column types that can hold free text or a readable value: on a sealed model, such a
# column classified as anything but "none"/"pseudonymous" would be identity in clear.
_TEXT = (models.CharField, models.TextField, models.JSONField)


def _project_models():
    return [m for m in apps.get_models() if m.__module__.startswith("etanche.")]


def _table(model) -> dict:
    return classification(model) or NOT_YET_ON_MODEL.get(model._meta.label, {})


def test_it_classifies_every_field_of_every_model():
    missing = {
        model._meta.label: unclassified_fields(model, _table(model))
        for model in _project_models()
    }
    missing = {label: fields for label, fields in missing.items() if fields}
    assert missing == {}, (
        "unclassified fields: add them to the model's PERSONAL_DATA "
        "(etanche.lib.personal_data.Protection)"
    )


def test_it_uses_only_known_protections_and_real_fields():
    for model in _project_models():
        table = _table(model)
        names = {f.name for f in model._meta.concrete_fields}
        assert set(table) <= names, f"{model._meta.label}: classifies fields it does not have"
        assert all(P(value) for value in table.values())


def test_it_keeps_patient_identity_out_of_clear_columns():
    for model in _project_models():
        if not issubclass(model, SealedModel):
            continue
        table = _table(model)
        assert table["sealed"] == P.SEALED
        for field in model._meta.concrete_fields:
            if field.name != "sealed" and table[field.name] == P.SEALED:
                raise AssertionError(f"{model._meta.label}.{field.name}: only `sealed` is sealed")
            if isinstance(field, _TEXT) and not field.choices:
                assert table[field.name] in (P.NONE, P.PSEUDONYMOUS), (
                    f"{model._meta.label}.{field.name}: free text on a sealed model")
            assert table[field.name] != P.STAFF_CLEAR or not model._meta.label.startswith(
                "patients."), f"{model._meta.label}.{field.name}"


def test_it_fails_for_a_new_unclassified_field():
    from etanche.patients.models import Patient

    declared = dict(classification(Patient))
    declared.pop("merged_into")
    assert unclassified_fields(Patient, declared) == ["merged_into"]
