"""The patients' address index: one normalisation for typed variants, filled by migration."""

import importlib

import pytest
from django.apps import apps

from etanche.patients import indexing
from etanche.patients.models import Patient
from tests.orders.helpers import make_patient

pytestmark = pytest.mark.django_db


def test_typed_variants_of_one_address_share_a_key():
    key = indexing.address_key("12, bd Saint-Michel", "35000")
    assert key == indexing.address_key("12 BOULEVARD ST MICHEL", " 35000 ")
    assert key == indexing.address_key("12 Boulevard Saint Michel", "35000")
    assert key != indexing.address_key("12 boulevard Saint-Michel", "29200")
    assert key != indexing.address_key("12B boulevard Saint-Michel", "35000")
    assert indexing.address_key("", "35000") is None
    assert indexing.address_key("3 rue de Brest", "") is None


def test_the_migration_fills_the_index_of_records_already_there(world):
    with_address = make_patient(world.lab_a, world.frontdesk, street="3 rue de Brest",
                                postal_code="29000")
    without = make_patient(world.lab_a, world.frontdesk, birth_name="Morvan")
    expected = with_address.address_index
    assert expected is not None and without.address_index is None
    Patient.objects.update(address_index=None)
    migration = importlib.import_module("etanche.patients.migrations.0007_address_index")
    migration.fill(apps, None)
    assert Patient.objects.get(pk=with_address.pk).address_index == expected
    assert Patient.objects.get(pk=without.pk).address_index is None
