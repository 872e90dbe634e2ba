"""A decrypted Étanche export is attributed to its export through its canary."""

import pyrage
import pytest
from django.test import Client
from django.urls import reverse

from etanche.breach.scan import scan_file
from etanche.exports import services as exports
from etanche.patients.models import Patient
from etanche.synthetic import people
from etanche.watch import canaries
from tests.breach import leaks
from tests.breach.conftest import SEED
from tests.exports.helpers import age_key, full_patients, produced
from tests.personas import sign_in


@pytest.mark.parametrize(("profile", "fmt"), [("migration", "ndjson"), ("migration", "csv"),
                                              ("transfer", "ndjson"), ("research", "csv")])
def test_export_named_by_its_canary(lab, world, tmp_path, profile, fmt):
    full_patients(world.lab_a, world.frontdesk, n=3)
    identity, recipient = age_key()
    export = produced(world, recipient, profile=profile, fmt=fmt)
    with exports.open_for_download(export, world.biologist) as handle:
        clear = pyrage.decrypt(handle.read(), [identity])
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(clear)
    public = scan_file(world.lab_a, path).public
    named = [c for c in public["canaries"] if c["kind"] == "export"]
    assert [c["export"]["id"] for c in named] == [export.pk], public["canaries"]
    described = named[0]["export"]
    assert described["profile"] == profile
    assert described["requester"] == world.labadmin.username
    assert world.biologist.username in described["approvers"]
    assert described["recipient"] == export.recipient
    if profile != "research":
        assert public["matched_patients"] >= 0.99 * 243
        assert public["exports"][0]["export"] == export.pk


def test_a_lab_canary_proves_the_lab_database_leaked(lab, world, tmp_path):
    canaries.seed(world.lab_a, 1)
    ids = list(Patient.objects.for_lab(world.lab_a).values_list("pk", flat=True))
    (honeypot,) = canaries.canaries_among(world.lab_a, ids)
    envs = list(people.envelopes(20, seed=SEED))
    envs.insert(7, Patient.objects.get(pk=honeypot).get_sealed())
    path = tmp_path / "dump.csv"
    path.write_bytes(leaks.as_csv(leaks.rows_of(envs)))
    public = scan_file(world.lab_a, path).public
    assert [c["kind"] for c in public["canaries"]] == ["lab"]
    assert public["canaries"][0]["rows"] == [8]
    assert public["matched_patients"] == 20  # the honeypot is nobody to notify


def test_the_cnil_draft_says_once_how_many_lab_canaries_the_file_holds(lab, world, tmp_path):
    from etanche.breach import drafts, services

    canaries.seed(world.lab_a, 3)
    ids = list(Patient.objects.for_lab(world.lab_a).values_list("pk", flat=True))
    honeypots = sorted(canaries.canaries_among(world.lab_a, ids))
    envs = list(people.envelopes(10, seed=SEED))
    envs += [Patient.objects.get(pk=pk).get_sealed() for pk in honeypots]
    path = tmp_path / "dump.csv"
    path.write_bytes(leaks.as_csv(leaks.rows_of(envs)))
    case, _, result = services.scan_into_case(world.lab_a, world.dpo, path, "0" * 64, via="cli")
    assert [c["kind"] for c in result.public["canaries"]] == ["lab"] * len(honeypots)
    text = drafts.cnil_text(case)
    assert text.count("de la base du laboratoire") == 1
    assert f"{len(honeypots)} témoins de la base du laboratoire" in text
    # The case page says it once as well; a second scan of the same file does not add up.
    services.scan_into_case(world.lab_a, world.dpo, path, "1" * 64, case=case, via="cli")
    page = sign_in(Client(), world.dpo).get(reverse("breach_case", args=[case.pk]))
    shown = page.content.decode()
    assert shown.count("du laboratoire : le fichier provient") == 1
    assert f"{len(honeypots)} traceurs du laboratoire" in shown
    assert f"{len(honeypots)} témoins" in drafts.cnil_text(case)
