"""`etanche breach`: scan --json is a contract; bad input is one line and leaves nothing."""

import gzip
import io
import json
import shutil
import subprocess
import sys
import zipfile

import pyrage
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from etanche.accounts.models import SealedTOTPDevice
from etanche.breach.models import BreachCase, BreachScan
from etanche.journal.models import Action, Entry
from etanche.synthetic import people
from tests.breach import leaks
from tests.breach.conftest import OURS, SEED
from tests.conftest import require_system
from tests.exports.helpers import age_key
from tests.personas import totp_now


def run(monkeypatch, user, *args) -> str:
    device = SealedTOTPDevice.objects.get(user=user)
    # Each call here is another command a minute later for the server: a code is used once.
    SealedTOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    code = totp_now(device)
    monkeypatch.setattr(sys, "stdin", io.StringIO(code + "\n"))
    out = io.StringIO()
    call_command("breach", *args, stdout=out)
    return out.getvalue()


def leak_file(tmp_path, envs, name="leak.csv"):
    path = tmp_path / name
    path.write_bytes(leaks.as_csv(leaks.rows_of(envs)))
    return path


def test_scan_json_contract_and_no_identity_printed(lab, world, tmp_path, monkeypatch):
    envs = list(people.envelopes(OURS, seed=SEED))[:60]
    path = leak_file(tmp_path, envs)
    out = run(monkeypatch, world.dpo, "scan", str(path), "--lab", "lab-a", "--by",
              world.dpo.username, "--json")
    public = json.loads(out)
    assert {"rows", "columns", "matched_rows", "matched_patients", "canaries", "severity",
            "case"} <= set(public)
    assert public["rows"] == 60
    assert public["matched_rows"] == list(range(1, 61))
    assert public["matched_patients"] == 60
    assert all(set(c) >= {"index", "header", "category", "share"} for c in public["columns"])
    assert public["severity"]["level"] == "very_high"
    for env in envs:
        assert env["ins"] not in out and env["birth_name"] not in out
        assert env["email"] not in out
    case = BreachCase.objects.get(pk=public["case"])
    assert len(case.get_sealed()["patient_ids"]) == 60
    assert Entry.objects.filter(action=Action.BREACH_SCAN, object_id=str(case.pk)).exists()
    # a second file into the same case: the affected patients are the union
    path2 = leak_file(tmp_path, list(people.envelopes(OURS, seed=SEED))[50:80], "b.csv")
    run(monkeypatch, world.dpo, "scan", str(path2), "--lab", "lab-a", "--by",
        world.dpo.username, "--case", str(case.pk))
    case.refresh_from_db()
    assert len(case.get_sealed()["patient_ids"]) == 80
    assert case.scans.count() == 2


def test_case_draft_and_encrypted_letters(lab, world, tmp_path, monkeypatch):
    envs = list(people.envelopes(OURS, seed=SEED))[:5]
    out = run(monkeypatch, world.dpo, "scan", str(leak_file(tmp_path, envs)), "--lab",
              "lab-a", "--by", world.dpo.username, "--json")
    case_id = str(json.loads(out)["case"])
    shown = run(monkeypatch, world.dpo, "case", case_id, "--by", world.dpo.username,
                "--dpo-contact", "dpo@labo-a.example", "--nature", "Fichier publié sur un "
                "forum", "--note", "Appel du prestataire")
    assert "échéance CNIL" in shown and "patients concernés : 5" in shown
    pdf, text = tmp_path / "cnil.pdf", tmp_path / "cnil.txt"
    run(monkeypatch, world.dpo, "draft", case_id, "--by", world.dpo.username,
        "--cnil", str(pdf), "--text", str(text))
    assert pdf.read_bytes().startswith(b"%PDF")
    body = text.read_text()
    for words in ("Nature de la violation", "Nombre approximatif de personnes concernées : 5",
                  "dpo@labo-a.example", "Mesures prises", "ENISA", "Information des personnes"):
        assert words in body
    assert not any(env["birth_name"] in body for env in envs)
    identity, recipient = age_key()
    letters = tmp_path / "lettres.pdf.age"
    run(monkeypatch, world.dpo, "letters", case_id, "--by", world.dpo.username,
        "--recipient", recipient, "--out", str(letters))
    data = letters.read_bytes()
    assert not data.startswith(b"%PDF") and envs[0]["birth_name"].encode() not in data
    clear = pyrage.decrypt(data, [identity])
    assert clear.startswith(b"%PDF") and clear.count(b"/Type /Page\n") == 5
    require_system(shutil.which("pdftotext") is not None, "poppler-utils is not installed")
    pages = subprocess.run([shutil.which("pdftotext"), "-layout", "-", "-"], input=clear,
                           capture_output=True, check=True).stdout.decode().split("\f")
    for env in envs:  # one page each, addressed to them, with the case's text
        [page] = [p for p in pages if f"{env['first_names'][0]} " in p
                  and (env["used_name"] or env["birth_name"]) in p]
        assert {"F": "Madame,", "M": "Monsieur,"}.get(env["sex"], "Madame, Monsieur,") in page
        assert "Fichier publié sur un forum" in page
        assert "dpo@labo-a.example" in page and "www.cnil.fr" in page


def test_other_roles_refused(lab, world, tmp_path, monkeypatch):
    path = leak_file(tmp_path, list(people.envelopes(3, seed=SEED)))
    with pytest.raises(CommandError, match="breach.manage"):
        run(monkeypatch, world.frontdesk, "scan", str(path), "--lab", "lab-a", "--by",
            world.frontdesk.username)


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bombe.csv", b"a;b\n" + b"0" * (300 * 1024 * 1024))
    return out.getvalue()


def _xlsx_with_formulas() -> bytes:
    import openpyxl  # noqa: PLC0415 - only this case needs it

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["nom", "total"])
    for i in range(5):
        sheet.append([f"=A{i + 1}&\"x\"", f"=SUM(B1:B{i + 1})"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


BAD = {
    "empty": lambda: b"",
    "garbage": lambda: bytes(range(256)) * 64,
    "one-10MB-line": lambda: b"x;" * (5 * 1024 * 1024),
    "zip-bomb": _zip_bomb,
    "gzip-garbage": lambda: gzip.compress(bytes(range(256)) * 16),
    "xlsx-formulas": _xlsx_with_formulas,
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_input_one_line_and_nothing_left(lab, world, tmp_path, monkeypatch, kind):
    path = tmp_path / "bad"
    path.write_bytes(BAD[kind]())
    before = set(tmp_path.iterdir())
    with pytest.raises(CommandError) as error:
        run(monkeypatch, world.dpo, "scan", str(path), "--lab", "lab-a", "--by",
            world.dpo.username)
    message = str(error.value)
    assert message and "\n" not in message and "Traceback" not in message
    if kind == "xlsx-formulas":
        assert "formules" in message
    assert not BreachCase.objects.exists() and not BreachScan.objects.exists()
    assert set(tmp_path.iterdir()) == before
