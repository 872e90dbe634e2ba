"""An export reads a merged record's requests under the record it went into, and never
the lab's honeypot patients (issue 23 merge; issue 24 item 3 for lab canaries)."""

from etanche.exports.profiles import PROFILES
from etanche.exports.records import read_batch
from etanche.patients.bulk import bulk_register
from etanche.patients.models import Patient
from etanche.synthetic.people import envelopes
from etanche.watch import canaries
from tests.orders.helpers import make_order


def _two(lab):
    assert bulk_register(lab, envelopes(2, seed=41)) == 2
    return list(Patient.objects.for_lab(lab).order_by("pk"))


def _migration():
    return next(p for p in PROFILES.values() if p.reads_requests)


def test_a_merged_records_requests_follow_the_record_it_went_into(world):
    keep, other = _two(world.lab_a)
    make_order(world.lab_a, world.frontdesk, keep)
    make_order(world.lab_a, world.frontdesk, other)
    Patient.objects.filter(pk=other.pk).update(merged_into=keep.pk)
    records = read_batch(world.lab_a, _migration(), [keep.pk])
    assert len(records) == 1 and len(records[0]["requests"]) == 2


def test_the_labs_honeypots_are_never_exported(world):
    _two(world.lab_a)
    assert canaries.seed(world.lab_a, 1) == 1
    everyone = sorted(Patient.objects.for_lab(world.lab_a).values_list("pk", flat=True))
    honeypot = canaries.canaries_among(world.lab_a, everyone)
    assert len(everyone) == 3 and len(honeypot) == 1
    records = read_batch(world.lab_a, _migration(), everyone)
    assert len(records) == 2
