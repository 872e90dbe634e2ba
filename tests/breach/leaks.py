"""Synthetic leaks built from a lab's own synthetic patients, reshaped the way leaks are."""

import csv
import gzip
import io
import json
import zipfile

from etanche.patients.names import strip_accents

HEADER = ["num_secu", "Nom Prénom", "ddn", "portable", "courriel", "groupe", "rue", "cp",
          "remarque", "medecin_traitant"]


def spaced(nir: str) -> str:
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"


def phone(e164: str, i: int) -> str:
    national = "0" + e164[3:]
    pairs = [national[k:k + 2] for k in range(0, 10, 2)]
    return [e164, national, " ".join(pairs), ".".join(pairs)][i % 4]


def reshaped(env: dict, i: int) -> list[str]:
    """One row: NIR with/without spaces, 4 phone writings, 2 date writings, accents stripped
    and case changed on names, id and city columns dropped, columns renamed and reordered."""
    y, m, d = env["birth_date"].split("-")
    first = env["first_names"][0]
    surname = env["used_name"] or env["birth_name"] if i % 7 == 3 else env["birth_name"]
    name = f"{surname} {strip_accents(first) if i % 2 else first}"
    name = name.title() if i % 3 == 0 else name.upper() if i % 3 == 1 else name
    return [spaced(env["ins"]) if i % 2 else env["ins"], name,
            f"{d}/{m}/{y}" if i % 2 else env["birth_date"],
            phone(env["phones"][0], i) if env["phones"] else "",
            env["email"], env["blood_group"], env["street"], env["postal_code"],
            env["notes"], env["physician_name"]]


def rows_of(envs: list[dict]) -> list[list[str]]:
    return [reshaped(env, i) for i, env in enumerate(envs)]


def as_csv(rows, header=HEADER, delimiter=";", encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def as_json(rows, header=HEADER, lines=False) -> bytes:
    records = [dict(zip(header, row, strict=True)) for row in rows]
    if lines:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    return json.dumps(records, ensure_ascii=False, indent=1).encode()


def _sql_string(value: str, mysql: bool) -> str:
    if mysql:
        value = value.replace("\\", "\\\\")
    return "'" + value.replace("'", "''") + "'"


def as_mysql(rows, header=HEADER) -> bytes:
    columns = ", ".join(f"`{h}`" for h in header)
    lines = ["-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)",
             "/*!40101 SET NAMES utf8mb4 */;", "DROP TABLE IF EXISTS `patients`;",
             "CREATE TABLE `patients` (",
             *(f"  `{h}` varchar(200) DEFAULT NULL," for h in header),
             "  PRIMARY KEY (`num_secu`)", ") ENGINE=InnoDB;"]
    for start in range(0, len(rows), 50):
        values = ",".join("(" + ",".join(_sql_string(v, True) for v in row) + ")"
                          for row in rows[start:start + 50])
        lines.append(f"INSERT INTO `patients` ({columns}) VALUES {values};")  # noqa: S608 - a dump file written for a test, never run
    return ("\n".join(lines) + "\n").encode()


def as_pg_copy(rows, header=HEADER) -> bytes:
    def cell(value):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n") or "\\N"
    # Shaped as pg_dump 15.14+ writes it: psql's \restrict / \unrestrict around the dump.
    lines = ["--", "-- PostgreSQL database dump", "--", "", "\\restrict K3y", "",
             "SET standard_conforming_strings = on;",
             f"COPY public.patients ({', '.join(header)}) FROM stdin;",
             *("\t".join(cell(v) for v in row) for row in rows), "\\.", "",
             "ALTER TABLE ONLY public.patients",
             "    ADD CONSTRAINT patients_pkey PRIMARY KEY (id);", "", "\\unrestrict K3y"]
    return ("\n".join(lines) + "\n").encode()


def as_xlsx(rows, header=HEADER) -> bytes:
    import openpyxl  # noqa: PLC0415 - only the XLSX leaks need it

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


def zipped(data: bytes, name: str = "fichier.csv") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()
