"""Files "from another software", made of synthetic people only (etanche.synthetic.people)."""

import csv
import io
import sys

from django.core.management import call_command

from etanche.accounts.models import SealedTOTPDevice
from etanche.synthetic.people import iter_identities
from tests.personas import totp_now

# The other software's own column names, in its own order.
OTHER_COLUMNS = ["N° dossier", "NOM", "Prénoms", "Date Naiss.", "Sexe", "Lieu naiss.",
                 "N° SS", "Tél. portable", "Mail", "CP", "Ville", "Remarque"]


def spaced_nir(nir: str) -> str:
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"


def national(phone: str) -> str:
    digits = "0" + phone[3:]
    return " ".join(digits[i:i + 2] for i in range(0, 10, 2))


def other_rows(n: int, seed: int = 7, start: int = 1):
    for i, p in enumerate(iter_identities(n, seed), start=start):
        yield [f"P{i:06d}", p.birth_name.upper(), " ".join(p.first_names),
               p.birth_date.strftime("%d/%m/%Y"), "1" if p.sex == "M" else "2",
               p.birthplace_code, spaced_nir(p.ins), national(p.phone), p.email,
               p.postal_code, p.city, ""]


def write_other_csv(path, rows, *, encoding="cp1252", delimiter=";", header=OTHER_COLUMNS):
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def code(user, step=0) -> str:
    return totp_now(SealedTOTPDevice.objects.get(user=user), step)


def run_import(monkeypatch, user, *args) -> tuple[str, str]:
    """`etanche import ...` as `user`, with their current code (a code is accepted once:
    the device forgets the last one, as a new 30-second step would)."""
    SealedTOTPDevice.objects.filter(user=user).update(last_t=-1)
    monkeypatch.setattr(sys, "stdin", io.StringIO(code(user) + "\n"))
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *args, "--by", user.username, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()
