"""Lab canaries: real Patient rows no dump tells apart, any touch a critical alert."""

import pytest
from django.db import transaction

from etanche.journal.models import Action, Entry
from etanche.journal.services import record
from etanche.ops.labs import create_lab
from etanche.patients import search
from etanche.patients import services as patients
from etanche.patients.models import Patient
from etanche.watch import canaries
from etanche.watch.models import LabCanary, Severity
from tests.orders.helpers import make_patient
from tests.watch.helpers import alerts_of, drain

pytestmark = pytest.mark.django_db


def _canary_ids(lab):
    return sorted(canaries.canaries_among(lab, Patient.objects.for_lab(lab)
                                          .values_list("pk", flat=True)))


def test_seeding_makes_patient_rows_known_only_by_a_keyed_digest(world, settings):
    settings.ETANCHE_CANARY_EMAIL_DOMAIN = "alerte.lab-a.example"
    real = make_patient(world.lab_a, world.frontdesk)
    assert canaries.seed(world.lab_a, 2) == 2
    ids = _canary_ids(world.lab_a)
    assert len(ids) == 2 and real.pk not in ids
    # Stored like any patient: same columns filled, no flag, no clear id anywhere in watch.
    row, other = (Patient.objects.get(pk=ids[0]), real)
    assert {f.attname for f in Patient._meta.concrete_fields
            if getattr(row, f.attname) is None} <= {
        f.attname for f in Patient._meta.concrete_fields if getattr(other, f.attname) is None
    } | {"ins_index", "used_name_dob_index"}
    stored = " ".join(LabCanary.objects.values_list("digest", flat=True))
    assert all(str(pid) not in stored for pid in ids)
    env = patients.get_patient(world.lab_a, None, ids[0]).fields
    assert env["email"].endswith("@alerte.lab-a.example")


def test_seeding_itself_raises_nothing_any_touch_is_critical(world):
    canaries.seed(world.lab_a, 1)
    (canary,) = _canary_ids(world.lab_a)
    drain()
    assert alerts_of(world.lab_a, "honeypot") == []
    patients.get_patient(world.lab_a, world.frontdesk, canary)
    drain()
    (alert,) = alerts_of(world.lab_a, "honeypot")
    assert alert.severity == Severity.CRITICAL and alert.user_id == world.frontdesk.pk
    assert alert.get_sealed()["patients"] == [canary]


def test_a_search_that_shows_a_canary_trips_the_rule(world):
    canaries.seed(world.lab_a, 1)
    (canary,) = _canary_ids(world.lab_a)
    env = patients.get_patient(world.lab_a, None, canary).fields
    drain()
    page = search.search(world.lab_a, world.frontdesk, nir=env["ins"])
    assert [s.id for s in page.results] == [canary]
    drain()
    assert len(alerts_of(world.lab_a, "honeypot")) == 1


def test_a_real_patient_read_is_no_honeypot_alert(world):
    canaries.seed(world.lab_a, 1)
    real = make_patient(world.lab_a, world.frontdesk)
    patients.get_patient(world.lab_a, world.frontdesk, real.pk)
    with transaction.atomic():
        record(lab=world.lab_b, user=world.other_frontdesk, action=Action.READ,
               object_type="patient", object_id=_canary_ids(world.lab_a)[0])
    drain()
    assert alerts_of(world.lab_a, "honeypot") == [] and alerts_of(world.lab_b, "honeypot") == []


def test_lab_creation_seeds_a_few_per_ten_thousand(db, settings):
    settings.ETANCHE_CANARIES_PER_10K = 3
    assert canaries.for_expected(10_000) == 3 and canaries.for_expected(1_000) == 1
    lab = create_lab("lab-c", "Laboratoire C", "990000507", expected_patients=20_000)
    assert canaries.count(lab) == 6 and Patient.objects.for_lab(lab).count() == 6


def test_a_canary_never_takes_a_surname_the_lab_already_has(world, monkeypatch):
    real = make_patient(world.lab_a, world.frontdesk, birth_name="Quéméner")
    drawn = iter([{**patients.get_patient(world.lab_a, None, real.pk).fields},
                  None])
    original = canaries.one_envelope

    def draw():
        env = next(drawn)
        return env if env is not None else original()

    monkeypatch.setattr(canaries, "one_envelope", draw)
    canaries.seed(world.lab_a, 1)
    (canary,) = _canary_ids(world.lab_a)
    assert patients.get_patient(world.lab_a, None, canary).fields["birth_name"] != "Quéméner"



def test_the_journal_tells_a_canary_s_registration_from_no_other(world):
    canaries.seed(world.lab_a, 1)
    (canary,) = _canary_ids(world.lab_a)
    real = patients.register_patient(world.lab_a, None, canaries._input(
        canaries.one_envelope())).id  # registered the same way, by no one

    def trail(pid):
        return [(e.action, e.object_type, e.actor, e.detail) for e in
                Entry.objects.filter(lab_id=world.lab_a.pk, object_id=str(pid))]

    assert trail(canary) == trail(real) != []
    assert not any(str(canary) in d for d in LabCanary.objects.values_list("digest", flat=True))


def test_a_long_list_of_ids_finds_the_same_canaries_as_a_short_one(world, monkeypatch):
    """Past ASKED_BY_DIGEST_MAX ids the lab's digests are compared in memory: same answer,
    and another lab's canaries (same ids asked) are never among them."""
    canaries.seed(world.lab_a, 3)
    canaries.seed(world.lab_b, 2)
    ids = list(Patient.objects.values_list("pk", flat=True))  # both labs' rows
    short = canaries.canaries_among(world.lab_a, ids)
    monkeypatch.setattr(canaries, "ASKED_BY_DIGEST_MAX", 0)
    long = canaries.canaries_among(world.lab_a, ids)
    assert len(short) == 3 and long == short
    assert not long & set(Patient.objects.for_lab(world.lab_b).values_list("pk", flat=True))
