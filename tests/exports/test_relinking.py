"""Issue 16, item 9: an export's clear columns are bound to its sealed envelope.

Written straight in the database, a profile (identity instead of research), a
selection (all instead of a list), a recipient (the attacker's age key) or a
status (approved without four eyes) must make the export refuse to open, so
that neither production nor a page acts on it.
"""

import pytest

from etanche.exports import services as exports
from etanche.exports.models import Export, Selection, Status
from etanche.exports.production import produce_export
from etanche.orders.models import Order
from etanche.patients.models import Patient
from etanche.vault.errors import TamperedData
from etanche.vault.rotation import rotate_lab
from etanche.watch.models import Canary
from tests.exports.helpers import age_key, produced, requested

pytestmark = pytest.mark.usefixtures("with_patients")


def _fresh(export) -> Export:
    return Export.objects.get(pk=export.pk)


@pytest.mark.parametrize("column", ["profile", "selection", "recipient", "status"])
def test_a_bound_column_written_in_the_database_is_refused(world, key, column):
    export = requested(world, key[1], profile="research", selection="list",
                       ids=[p.pk for p in world.patients[:1]])
    exports.approve_export(export, world.biologist, queue=False)
    value = {"profile": "migration", "selection": Selection.ALL, "recipient": age_key()[1],
             "status": Status.PRODUCED}[column]
    Export.objects.filter(pk=export.pk).update(**{column: value})
    with pytest.raises(TamperedData):
        _fresh(export).get_sealed()


def test_an_approval_written_in_the_database_does_not_produce(world, key):
    export = requested(world, key[1])
    Export.objects.filter(pk=export.pk).update(status=Status.APPROVED,
                                               decided_by_id=world.labadmin.pk)
    with pytest.raises(TamperedData):
        produce_export(_fresh(export))


def test_an_older_ciphertext_of_the_same_export_is_refused(world, key):
    export = produced(world, key[1], profile="research")
    salted = _fresh(export)
    assert salted.get_sealed()["pseudonym_salt"]
    exports.purge_export(export, world.dpo)
    Export.objects.filter(pk=export.pk).update(status=Status.PRODUCED, sealed=salted.sealed,
                                               key_version=salted.key_version)
    with pytest.raises(TamperedData):
        _fresh(export).get_sealed()


def test_the_whole_life_of_an_export_keeps_it_readable(world, key):
    export = produced(world, key[1], downloads=1)
    with exports.open_for_download(export, world.dpo) as handle:
        handle.read()
    assert _fresh(export).status == Status.DOWNLOADED
    assert _fresh(export).get_sealed()["pseudonym_salt"] is None
    refused = requested(world, key[1])
    exports.refuse_export(refused, world.biologist, "Pas de base légale")
    assert exports.refusal_reason(_fresh(refused)) == "Pas de base légale"


def test_a_canary_moved_to_another_export_is_refused(world, key):
    first, second = produced(world, key[1]), produced(world, key[1])
    canary = Canary.objects.get(export_id=first.pk)
    Canary.objects.filter(export_id=second.pk).delete()
    Canary.objects.filter(pk=canary.pk).update(export_id=second.pk)
    with pytest.raises(TamperedData):
        Canary.objects.get(pk=canary.pk).get_sealed()


def test_key_rotation_re_seals_every_row_with_its_binding(world, key):
    export = produced(world, key[1])
    rotate_lab(world.lab_a)
    for row in (*Order.objects.for_lab(world.lab_a), *Export.objects.for_lab(world.lab_a),
                *Patient.objects.for_lab(world.lab_a), *Canary.objects.for_lab(world.lab_a)):
        assert row.key_version == 2 and row.get_sealed() is not None
    Export.objects.filter(pk=export.pk).update(status=Status.APPROVED)
    with pytest.raises(TamperedData):
        _fresh(export).get_sealed()
