"""`etanche patients add|find`: called in-process, and once through the real console script."""

import io
import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from etanche.journal.models import Action, Entry
from etanche.patients.models import Patient
from etanche.synthetic.people import generate
from tests.cli_helpers import ETANCHE, run_etanche
from tests.db_helpers import fresh_instance
from tests.patients.people import person
from tests.personas import make_lab


@pytest.fixture
def lab(db):
    return make_lab("cli-lab")


def _add(monkeypatch, data, *args) -> tuple[str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(data)))
    out, err = io.StringIO(), io.StringIO()
    call_command("patients", "add", "--lab", "cli-lab", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _find(*args) -> list[dict]:
    out = io.StringIO()
    call_command("patients", "find", "--lab", "cli-lab", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_it_adds_a_patient_and_prints_its_id(lab, monkeypatch):
    out, _ = _add(monkeypatch, person())
    patient = Patient.objects.get(pk=int(out))
    assert patient.lab == lab and patient.get_sealed()["birth_name"] == "KERGOAT"


def test_it_prints_one_line_per_faulty_field_and_exits_2(lab, monkeypatch):
    bad = {**person(), "sex": "X", "email": "nope", "birth_date": "1984-02-30"}
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(bad)))
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("patients", "add", "--lab", "cli-lab", stderr=err)
    assert caught.value.returncode == 2
    lines = [*err.getvalue().splitlines(), str(caught.value)]
    assert sorted(line.split(":")[0] for line in lines) == ["birth_date", "email", "nir", "sex"]
    assert "La date de naissance doit être une date réelle au format AAAA-MM-JJ." in lines[0]
    assert Patient.objects.count() == 0


@pytest.mark.parametrize("stdin", ["not json", "[1, 2]", ""])
def test_it_refuses_what_is_not_one_json_object(lab, monkeypatch, stdin):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with pytest.raises(CommandError, match="one JSON object") as caught:
        call_command("patients", "add", "--lab", "cli-lab")
    assert caught.value.returncode == 2


def test_it_refuses_a_duplicate_with_candidate_ids_unless_told(lab, monkeypatch):
    first, _ = _add(monkeypatch, person())
    with pytest.raises(CommandError) as caught:
        _add(monkeypatch, person(first_names=["Anne"]))
    assert "duplicate" in str(caught.value) and first.strip() in str(caught.value)
    assert "KERGOAT" not in str(caught.value)
    # The same NIR is one person: no option lets a second record hold it (issue 24.2).
    with pytest.raises(CommandError) as caught:
        _add(monkeypatch, person(first_names=["Anne"]), "--not-duplicate")
    assert caught.value.returncode == 3 and "same NIR" in str(caught.value)
    second, _ = _add(monkeypatch, person(first_names=["Anne"], serial=None), "--not-duplicate")
    assert int(second) != int(first)


def test_it_finds_by_each_criterion(lab, monkeypatch):
    pid = int(_add(monkeypatch, person(used_name="Le Gall"))[0])
    data = person()
    expected = {"id": pid, "birth_name": "KERGOAT", "used_name": "LE GALL",
                "first_names": ["Anne", "Maëlle"], "used_first_name": "",
                "birth_date": "1984-03-02", "sex": "F", "identity_status": "PROV"}
    assert _find("--nir", data["nir"]) == [expected]
    assert _find("--name", "Kèrgoat", "--birth-date", "1984-03-02") == [expected]
    assert _find("--name", "le gall", "--first-name", "MAELLE") == [expected]
    assert _find("--phone", "+33 6 39 98 12 34") == [expected]
    assert _find("--name", "Kergoat", "--birth-date", "1984-03-03") == []
    kinds = [json.loads(e.detail)["criteria"] for e in
             Entry.objects.filter(action=Action.SEARCH, lab_id=lab.pk).order_by("seq")
             if "duplicates" not in e.detail]
    assert kinds == [["nir"], ["name", "birth_date"], ["name", "first_name"], ["phone"],
                     ["name", "birth_date"]]


def test_it_refuses_bad_criteria(lab):
    for args, words in ((["--nir", "123"], "nir: Le NIR doit comporter 15"),
                        (["--phone", "12"], "phone: "),
                        (["--nir", "1", "--first-name", "A"], "go with --name"),
                        (["--name", "X", "--birth-date", "hier"], "AAAA-MM-JJ")):
        with pytest.raises(CommandError, match=words) as caught:
            call_command("patients", "find", "--lab", "cli-lab", *args)
        assert caught.value.returncode == 2
    with pytest.raises(CommandError, match="no lab"):
        call_command("patients", "find", "--lab", "nowhere", "--name", "X")


def test_the_console_script_adds_finds_and_journals_the_os_user(tmp_path):
    with fresh_instance(tmp_path) as env:
        env = {**env, "ETANCHE_OPERATOR": "Claire Dubois"}
        demo = run_etanche("demo", "--patients", "1000", "--seed", "9", env=env, timeout=300)
        assert demo.returncode == 0, demo.stderr
        assert "patients: 1000 synthetic (seed 9)" in demo.stdout
        def add(data, *args):
            return subprocess.run([ETANCHE, "patients", "add", "--lab", "demo", *args],
                                  input=json.dumps(data), env=env, capture_output=True,
                                  text=True, timeout=120, check=False)

        created = add(person())
        assert created.returncode == 0, created.stderr
        pid = int(created.stdout)
        bad = add({**person(), "postal_code": "1"})
        assert (bad.returncode, bad.stderr.strip()) == (
            2, "CommandError: postal_code: Le code postal doit comporter 5 chiffres.")
        again = add(person())
        assert again.returncode == 3 and "duplicate" in again.stderr and str(pid) in again.stderr
        found = run_etanche("patients", "find", "--lab", "demo", "--nir", person()["nir"],
                            env=env)
        assert [json.loads(line)["id"] for line in found.stdout.splitlines()] == [pid]

        someone = generate(1000, seed=9)[617]
        by_name = run_etanche("patients", "find", "--lab", "demo", "--name",
                              someone.birth_name, "--birth-date",
                              someone.birth_date.isoformat(), env=env)
        rows = [json.loads(line) for line in by_name.stdout.splitlines()]
        assert [r["first_names"] for r in rows].count(list(someone.first_names)) == 1
        by_nir = run_etanche("patients", "find", "--lab", "demo", "--nir", someone.ins, env=env)
        assert [json.loads(line)["birth_name"] for line in by_nir.stdout.splitlines()] == [
            someone.birth_name]
        journal = run_etanche("journal", "verify", "--lab", "demo", env=env)
        assert journal.returncode == 0, journal.stdout + journal.stderr
        # The actor of CLI entries is the OS user and the declared operator.
        export = run_etanche("shell", "-c", (
            "from etanche.journal.models import Entry;"
            "print(sorted({e.actor for e in Entry.objects.filter(action='create', "
            "object_type='patient')}))"), env=env)
        actors = export.stdout.strip()
        assert "cli:" in actors and "(Claire Dubois)" in actors
