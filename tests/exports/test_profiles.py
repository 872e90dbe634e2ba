"""Each profile carries exactly its fields, read back from the decrypted file."""

import csv
import io
import json
import shutil

import pytest
from django.core.management import call_command
from fhir.resources.R4B import get_fhir_model_class

from etanche.exports import crypto, profiles
from tests.conftest import require_system
from tests.exports.fhir_fields import fields_of
from tests.exports.helpers import decrypt, decrypt_with_age_binary, produced

pytestmark = pytest.mark.usefixtures("with_patients")


def construct_fhir_element(resource_type: str, data: dict):
    """Validate with the R4B models (identical to R4 for the five resources we write)."""
    return get_fhir_model_class(resource_type).model_validate(data)


def _export(world, recipient, profile, fmt):
    kwargs = {"selection": "all"}
    if profiles.get(profile).single_patient:
        kwargs = {"selection": "list", "ids": [world.patients[0].pk]}
    return produced(world, recipient, profile=profile, fmt=fmt, **kwargs)


def _envelopes(world):
    return [p.get_sealed() for p in world.patients]


@pytest.mark.parametrize("name", list(profiles.PROFILES))
def test_it_writes_exactly_the_profile_columns_in_csv(world, key, name):
    identity, recipient = key
    export = _export(world, recipient, name, "csv")
    text = decrypt(crypto.exports_dir() / export.file_name, identity).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header == list(profiles.get(name).fields)
    patients = 1 if profiles.get(name).single_patient else len(world.patients)
    # One request each, and the canary, except in a person's own data (issue 24, item 3).
    assert len(body) == patients + (1 if profiles.get(name).canary else 0)
    for column, field in enumerate(header):
        assert any(row[column] for row in body), f"{name}: {field} is never filled"


@pytest.mark.parametrize("name", list(profiles.PROFILES))
def test_it_writes_exactly_the_profile_fields_in_fhir_ndjson(world, key, name):
    identity, recipient = key
    export = _export(world, recipient, name, "ndjson")
    lines = decrypt(crypto.exports_dir() / export.file_name, identity).decode().splitlines()
    resources = [json.loads(line) for line in lines]
    assert fields_of(resources) == set(profiles.get(name).fields)
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    expected = 1 if profiles.get(name).single_patient else len(world.patients)
    canaries = 1 if profiles.get(name).canary else 0
    assert len(patients) == expected + canaries
    assert export.rows == expected + canaries


def test_every_resource_type_is_valid_fhir(world, key):
    identity, recipient = key
    export = _export(world, recipient, "migration", "ndjson")
    lines = decrypt(crypto.exports_dir() / export.file_name, identity).decode().splitlines()
    seen = set()
    for line in lines:
        resource = json.loads(line)
        construct_fhir_element(resource["resourceType"], resource)  # raises if invalid
        seen.add(resource["resourceType"])
    assert seen == {"Patient", "Practitioner", "Coverage", "ServiceRequest", "Specimen"}
    research = _export(world, recipient, "research", "ndjson")
    for line in decrypt(crypto.exports_dir() / research.file_name, identity).splitlines():
        resource = json.loads(line)
        construct_fhir_element(resource["resourceType"], resource)


def test_transfer_carries_no_contact_or_coverage_values(world, key):
    identity, recipient = key
    text = decrypt(crypto.exports_dir() / _export(world, recipient, "transfer", "csv")
                   .file_name, identity).decode()
    for env in _envelopes(world):
        for value in [env["street"], env["email"], *env["phones"], env["amc_contract"],
                      env["notes"], env["physician_rpps"]]:
            assert value not in text
        assert env["ins"] in text


def test_research_carries_no_identity_values(world, key):
    identity, recipient = key
    for fmt in ("csv", "ndjson"):
        export = _export(world, recipient, "research", fmt)
        text = decrypt(crypto.exports_dir() / export.file_name, identity).decode()
        for patient, env in zip(world.patients, _envelopes(world), strict=True):
            for value in (env["birth_name"], env["ins"], env["birth_date"], env["email"],
                          env["postal_code"], str(patient.pk), *env["first_names"]):
                assert value not in text, fmt


def test_research_pseudonyms_differ_between_exports(world, key):
    identity, recipient = key
    first, second = (_export(world, recipient, "research", "csv") for _ in range(2))

    def pseudonyms(export):
        text = decrypt(crypto.exports_dir() / export.file_name, identity).decode("utf-8-sig")
        return {row["pseudonym"] for row in csv.DictReader(io.StringIO(text))}

    assert len(pseudonyms(first)) == len(world.patients) + 1
    assert not pseudonyms(first) & pseudonyms(second)


def test_the_standard_age_command_decrypts_the_file(world, key, tmp_path):
    require_system(shutil.which("age") is not None, "the `age` command is not installed")
    identity, recipient = key
    for fmt in ("csv", "ndjson"):
        export = _export(world, recipient, "migration", fmt)
        path = crypto.exports_dir() / export.file_name
        assert decrypt_with_age_binary(path, identity, tmp_path) == decrypt(path, identity)


def test_it_lists_the_profiles_with_their_fields():
    out = io.StringIO()
    call_command("export", "profiles", stdout=out)
    for profile in profiles.PROFILES.values():
        assert f"  fields: {', '.join(profile.fields)}" in out.getvalue()
