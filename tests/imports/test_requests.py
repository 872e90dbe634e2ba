"""Import of past requests, and the round trip: lab A's migration export into lab B."""

import pytest
from django.core.exceptions import ValidationError

from etanche.exports import crypto
from etanche.imports import requests as request_imports
from etanche.imports import services as imports
from etanche.orders import catalogue
from etanche.orders import services as orders
from etanche.orders.models import CatalogueTest, Order, OrderTest
from etanche.patients import services as patients
from etanche.patients.models import Patient
from tests.exports.helpers import age_key, decrypt, full_patients, produced
from tests.imports.helpers import other_rows, write_other_csv

REQUEST_HEADER = ["N° demande", "N° dossier", "Date demande", "Prescripteur",
                  "RPPS prescripteur", "Codes NABM", "Statut", "Urgence"]


def _import(world, path, kind, lab=None, user=None, **options):
    plan = imports.plan(path, kind)
    run = imports.import_patients if kind == "patients" else request_imports.import_requests
    return run(lab or world.lab_a, user or world.labadmin, path, plan, **options)


@pytest.fixture
def imported(world, tmp_path):
    path = write_other_csv(tmp_path / "patients.csv", other_rows(4))
    assert _import(world, path, "patients").imported == 4
    return path


def test_requests_link_to_imported_patients_and_move_through_the_workflow(
        world, tmp_path, imported):
    rows = [["D1", "P000001", "05/01/2024", "Dr Lefebvre", "", "1104 1208", "reçue", ""],
            ["D2", "P000002", "06/01/2024", "Dr Lefebvre", "", "1208", "annulée", "oui"],
            ["D3", "P000003", "07/01/2024", "Dr Lefebvre", "", "1104", "", ""]]
    path = write_other_csv(tmp_path / "demandes.csv", rows, header=REQUEST_HEADER)
    report = _import(world, path, "requests")
    assert (report.rows, report.imported, report.rejected) == (3, 3, [])
    orders = Order.objects.for_lab(world.lab_a).order_by("created_at")
    assert [o.status for o in orders] == ["received", "cancelled", "registered"]
    assert [sorted(o.tests.values_list("code", flat=True)) for o in orders] == [
        ["1104", "1208"], ["1208"], ["1104"]]
    assert orders[1].urgent and orders[0].get_sealed()["prescription_date"] == "2024-01-05"
    again = _import(world, path, "requests")
    assert (again.imported, again.already) == (0, 3) and orders.count() == 3


def test_bad_requests_are_refused_with_reasons_and_nothing_stays(world, tmp_path, imported):
    rows = [["D1", "P000001", "05/01/2024", "Dr Lefebvre", "", "1104", "", ""],
            ["D2", "P404404", "06/01/2024", "Dr Lefebvre", "", "1208", "", ""],
            ["D3", "P000003", "07/01/2024", "", "", "9999", "", ""],
            ["D4", "P000004", "07/01/2024", "Dr X", "123", "1104", "perdue", ""]]
    path = write_other_csv(tmp_path / "demandes.csv", rows, header=REQUEST_HEADER)
    report = _import(world, path, "requests")
    got = {(r["row"], r["field"]) for r in report.rejected}
    assert {(2, "patient_source_id"), (3, "prescriber_name"), (3, "tests"),
            (4, "prescriber_rpps"), (4, "status")} <= got
    assert report.imported == 0 and Order.objects.for_lab(world.lab_a).count() == 0
    report = _import(world, path, "requests", accept_valid=True)
    assert report.imported == 1 and Order.objects.for_lab(world.lab_a).count() == 1


def test_requests_link_by_identity_without_an_id(world, tmp_path, imported):
    first = next(iter(other_rows(1)))
    rows = [["D9", first[1], first[2], first[3], first[6], "05/01/2024", "Dr Lefebvre", "1104"]]
    path = write_other_csv(tmp_path / "demandes.csv", rows, header=[
        "N° demande", "Nom", "Prénom", "Date de naissance", "NIR", "Date demande",
        "Prescripteur", "Codes NABM"])
    report = _import(world, path, "requests")
    assert (report.imported, report.rejected) == (1, [])


FIELDS = ("birth_name", "first_names", "used_name", "used_first_name", "birth_date", "sex",
          "birthplace_code", "ins", "ins_oid", "identity_status", "street", "postal_code",
          "city", "phones", "email", "amo_regime", "amo_fund", "amo_centre", "amc_insurer",
          "amc_contract", "physician_name", "physician_rpps", "blood_group", "notes")


def _people(lab, user):
    out = {}
    for pk in Patient.objects.for_lab(lab).values_list("pk", flat=True):
        env = patients.get_patient(lab, user, pk).fields
        requests = sorted(
            (o.status, tuple(sorted(o.tests.values_list("code", flat=True))),
             o.get_sealed()["prescriber_name"], o.get_sealed()["prescription_date"])
            for o in Order.objects.for_lab(lab).filter(patient_id=pk))
        out[env["ins"]] = ({k: env.get(k) for k in FIELDS}, requests)
    return out


def test_round_trip_from_lab_a_migration_export_into_lab_b(world, tmp_path):
    full_patients(world.lab_a, world.frontdesk, n=3)
    identity, recipient = age_key()
    export = produced(world, recipient)  # migration profile, FHIR NDJSON
    clear = tmp_path / "migration.ndjson"
    clear.write_bytes(decrypt(crypto.exports_dir() / export.file_name, identity))
    admin_b = world.outsider_admin
    # The export's canary comes along as any row, when the checks let it: the canary
    # generator can shape a phone the numbering plan refuses (reported, not this test's).
    report = _import(world, clear, "patients", lab=world.lab_b, user=admin_b, accept_valid=True)
    assert report.rows == 4 and len({r["row"] for r in report.rejected}) <= 1
    requests = _import(world, clear, "requests", lab=world.lab_b, user=admin_b,
                       accept_valid=True)
    assert len({r["row"] for r in requests.rejected}) <= 1
    before = _people(world.lab_a, world.biologist)
    after = _people(world.lab_b, world.in_lab_b["biologist"])
    assert len(after) >= len(before) == 3
    for ins, record in before.items():
        assert after[ins] == record


def test_a_past_request_needs_no_pre_analytical_answers_and_its_number_is_its_own(
        world, tmp_path, imported):
    """What another program's export of past requests looks like: numbers such as
    D2019..., statuses in either gender, tests whose pre-analytical questions (0126:
    anticoagulant) were never recorded there."""
    header = ["N° demande", "Date prescription", "N° dossier", "Médecin prescripteur",
              "Codes NABM", "Etat"]
    rows = [["D201900001", "12/03/2019", "P000001", "Dr Martin Soury", "0126 1104", "Validé"],
            ["D201900002", "13/03/2019", "P000002", "Dr Martin Soury", "0126", "clôturé"],
            ["D201900003", "14/03/2019", "P000003", "Dr Martin Soury", "1104", "Annulé"]]
    path = write_other_csv(tmp_path / "demandes.csv", rows, header=header)
    plan = imports.plan(path, "requests")
    assert plan.mapping.columns["N° demande"] == "number"
    report = _import(world, path, "requests")
    assert (report.imported, report.rejected, report.duplicates) == (3, [], [])
    orders = Order.objects.for_lab(world.lab_a).order_by("created_at")
    assert [o.status for o in orders] == ["received", "received", "cancelled"]
    assert orders[0].get_sealed()["answers"] == {}


def test_a_past_request_keeps_acts_the_catalogue_lacks_or_no_longer_offers(
        world, tmp_path, imported):
    # A lab's history names acts deleted from the NABM since (0323, deleted 2019-02-01),
    # current acts its catalogue never offered (0467, outside the seeded subset) and tests
    # it has disabled since (1208): each is kept with its label; a code found nowhere is not.
    catalogue.ensure_seeded(world.lab_a)
    CatalogueTest.objects.for_lab(world.lab_a).filter(code="1208").update(enabled=False)
    rows = [["D1", "P000001", "05/01/2015", "Dr Lefebvre", "", "0323 1104", "reçue", ""],
            ["D2", "P000002", "06/01/2016", "Dr Lefebvre", "", "0467 1208", "reçue", ""],
            ["D3", "P000003", "07/01/2016", "Dr Lefebvre", "", "1104 9998", "reçue", ""]]
    path = write_other_csv(tmp_path / "demandes.csv", rows, header=REQUEST_HEADER)
    report = _import(world, path, "requests", accept_valid=True)
    assert report.imported == 2
    assert report.rejected == [{
        "row": 3, "field": "tests", "column": "Codes NABM",
        "reason": "Code inconnu du catalogue du laboratoire et de la NABM : 9998."}]
    tests = {t.code: t for t in OrderTest.objects.for_lab(world.lab_a)}
    assert tests["0323"].label.startswith("Hépatite B (VHB)") and tests["0323"].specimen == ""
    assert tests["0467"].label.startswith("Acide vanilmandel")
    assert tests["1208"].label
    # Only the acts with a known specimen made a tube.
    [first] = Order.objects.for_lab(world.lab_a).filter(tests__code="0323")
    assert first.specimens.count() == 1
    # The registration form still offers only the catalogue's enabled tests.
    with pytest.raises(ValidationError, match="désactivée au catalogue : 0323, 1208"):
        orders.create_order(world.lab_a, world.labadmin, first.patient, tests=["0323", "1208"],
                            prescriber_name="Dr Lefebvre", prescription_date="2024-01-05")
