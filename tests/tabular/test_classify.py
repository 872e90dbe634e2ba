"""Column classification by content: shapes of a leak, misleading headers, a merged name."""

from datetime import date

import pytest

from etanche.patients import nir
from etanche.synthetic import people
from etanche.tabular import classify, recognise

TODAY = date(2026, 12, 1)


def spaced_nir(n: str) -> str:
    return f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}"


def national(e164: str) -> str:
    return "0" + e164[3:]


def phone_writings(e164: str) -> list[str]:
    nat = national(e164)
    pairs = [nat[k:k + 2] for k in range(0, 10, 2)]
    return [e164, nat, " ".join(pairs), ".".join(pairs)]


@pytest.fixture(scope="module")
def envs():
    return list(people.envelopes(300, seed=18))


def test_values_recognised_in_their_writings(envs):
    env = envs[0]
    assert recognise.as_nir(env["ins"]) == env["ins"]
    assert recognise.as_nir(spaced_nir(env["ins"])) == env["ins"]
    wrong_key = env["ins"][:13] + f"{(int(env['ins'][13:]) + 1) % 97:02d}"
    assert recognise.as_nir(wrong_key) is None
    corsica = "269052A004012"  # born in Corse-du-Sud: the key counts 2A as 19
    key = f"{nir.nir_key(corsica):02d}"
    assert recognise.as_nir(f"2 69 05 2A 004 012 {key}") == corsica + key
    for writing in phone_writings(env["phones"][0]):
        assert recognise.as_phone(writing) == env["phones"][0]
    y, m, d = env["birth_date"].split("-")
    for writing in (env["birth_date"], f"{d}/{m}/{y}", f"{d}.{m}.{y}", f"{y}{m}{d}",
                    f"{env['birth_date']}T00:00:00"):
        assert recognise.as_date(writing, TODAY) == env["birth_date"]
    assert recognise.as_date("1er mars 1985", TODAY) == "1985-03-01"
    assert recognise.as_date("31/02/1985", TODAY) is None
    assert recognise.as_email(env["email"].upper()) == env["email"].lower()
    assert recognise.as_blood_group("groupe AB neg") == "AB-"
    assert recognise.as_ins(f"{env['ins']}^^^&1.2.250.1.213.1.4.8&ISO").startswith(env["ins"])
    assert recognise.split_full_name("BERNARD Nathan") == ("BERNARD", "Nathan")
    assert recognise.split_full_name("Nathan BERNARD") == ("BERNARD", "Nathan")
    assert recognise.health_groups("Suivi de grossesse, sérologie VIH") == [
        "biology", "hiv_sti", "pregnancy"]
    assert recognise.health_groups("Liste d'attente") == []  # whole words: not "ist"


def leak(envs):
    """Misleading headers, mixed writings, a merged name, accents stripped, case changed."""
    header = ["commentaire", "NOM PRENOM", "ref", "naissance", "tel", "x", "gs", "adresse",
              "cp", "ville", "medecin", "remarques", "prenom", "nom", "date"]
    rows = []
    for i, e in enumerate(envs):
        y, m, d = e["birth_date"].split("-")
        rows.append([
            spaced_nir(e["ins"]) if i % 2 else e["ins"],
            f"{e['birth_name']} {recognise.strip_accents(e['first_names'][0])}",
            str(1000 + i),
            f"{d}/{m}/{y}" if i % 2 else e["birth_date"],
            phone_writings(e["phones"][0])[i % 4],
            e["email"], e["blood_group"], e["street"], e["postal_code"], e["city"],
            e["physician_name"], e["notes"], e["first_names"][0].upper(),
            e["birth_name"].title(), "2026-11-30",
        ])
    return header, rows


def test_columns_classified_by_content_not_header(envs):
    header, rows = leak(envs)
    columns = classify.classify(header, rows, today=TODAY)
    assert [c.category for c in columns] == [
        "nir", "full_name", None, "birth_date", "phone", "email", "blood_group", "address",
        "postal_code", "city", "physician", "health_text", "first_name", "surname", "date"]
    assert all(c.share >= 0.95 for c in columns if c.category not in (None, "health_text"))
    assert columns[1].normalise("BERNARD Nathan") == "BERNARD|NATHAN"
    assert columns[0].normalise(spaced_nir(envs[0]["ins"])) == envs[0]["ins"]


def test_reordered_columns_and_no_header(envs):
    header, rows = leak(envs)
    order = [5, 0, 13, 3]
    columns = classify.classify(None, ([row[i] for i in order] for row in rows), today=TODAY)
    assert [c.category for c in columns] == ["email", "nir", "surname", "birth_date"]
    assert all(c.header == "" for c in columns)


def test_sample_bounds_the_rows_read(envs):
    header, rows = leak(envs)
    consumed = []

    def stream():
        for row in rows:
            consumed.append(row)
            yield row

    classify.classify(header, stream(), sample=50, today=TODAY)
    assert len(consumed) == 50


def test_junk_is_nothing():
    columns = classify.classify(["a", "b"], [["\x00\x01" * 3000, "lorem ipsum"]] * 20)
    assert [c.category for c in columns] == [None, None]
    assert classify.classify(None, []) == []
