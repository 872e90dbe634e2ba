"""tabular.readers: every format, encoding and compression, and the guards."""

import gzip
import io
import json
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from etanche.tabular.readers import Limits, TabularError, open_table, sample

pytestmark = pytest.mark.once

ROWS = [["Nom", "Prénom", "Né le"], ["Dupré", "Élodie", "03/02/1985"],
        ["Lefèvre", "Gaëlle; Anne", "1990-12-31"]]


def write_csv(path, delimiter=";", encoding="utf-8", quote_all=False, newline="\r\n"):
    lines = []
    for row in ROWS:
        cells = [f'"{c}"' if quote_all or delimiter in c else c for c in row]
        lines.append(delimiter.join(cells))
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def read_all(source, limits=None):
    with open_table(source, limits) as table:
        return table, list(table.rows())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1", "cp1252"])
@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_it_reads_csv_in_each_encoding_and_delimiter(tmp_path, encoding, delimiter):
    table, rows = read_all(write_csv(tmp_path / "f.csv", delimiter, encoding))
    assert table.format == "csv" and table.delimiter == delimiter
    assert table.header == ["Nom", "Prénom", "Né le"]
    assert [r.number for r in rows] == [1, 2]
    assert rows[0].values == {"Nom": "Dupré", "Prénom": "Élodie", "Né le": "03/02/1985"}
    assert rows[1].values["Prénom"] == "Gaëlle; Anne"
    expected = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "latin-1": "latin-1",
                "cp1252": "latin-1"}  # no 0x80-0x9F byte: the two read alike
    assert table.encoding == expected[encoding]


def test_it_tells_windows_1252_by_its_own_letters(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("nom;note\nŒuvre;l’an 2000 – 5 €\n".encode("cp1252"))
    table, rows = read_all(path)
    assert table.encoding == "cp1252"
    assert rows[0].values == {"nom": "Œuvre", "note": "l’an 2000 – 5 €"}


def test_it_reads_quoted_fields_with_newlines_and_single_quotes(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('a,b\n"1","deux\nlignes"\n"3","x ""y"""\n', encoding="utf-8")
    _, rows = read_all(path)
    assert rows[0].values == {"a": "1", "b": "deux\nlignes"}
    assert rows[1].values["b"] == 'x "y"'
    path.write_text("a;b\n'1';'un; deux'\n'3';'4'\n", encoding="utf-8")
    table, rows = read_all(path)
    assert table.quotechar == "'" and rows[0].values["b"] == "un; deux"


def test_blank_lines_are_counted_not_returned_and_ragged_rows_kept(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a;b\n1;2\n\n3\n4;5;6\n", encoding="utf-8")
    _, rows = read_all(path)
    assert [r.number for r in rows] == [1, 3, 4]
    assert rows[1].values == {"a": "3", "b": ""}
    assert rows[2].values == {"a": "4", "b": "5", "colonne 3": "6"}


def test_title_lines_above_the_column_names_are_passed_over(tmp_path):
    # "Export des patients" and a date line, as spreadsheets and older programs write them.
    path = tmp_path / "f.csv"
    path.write_text("Export des patients\nÉdité le 01/12/2026\n\nNom;Prénom\nDupré;Élodie\n\n"
                    "Lefèvre;Gaëlle\n", encoding="utf-8")
    table, rows = read_all(path)
    assert table.header == ["Nom", "Prénom"]
    assert [(r.number, r.values["Nom"]) for r in rows] == [(1, "Dupré"), (3, "Lefèvre")]
    book = openpyxl.Workbook()
    for row in (["Export des patients"], [], ["Nom", "Prénom"], ["Dupré", "Élodie"]):
        book.active.append(row)
    book.save(tmp_path / "f.xlsx")
    table, rows = read_all(tmp_path / "f.xlsx")
    assert table.header == ["Nom", "Prénom"] and [r.values for r in rows] == [
        {"Nom": "Dupré", "Prénom": "Élodie"}]


def test_a_file_of_one_column_keeps_its_first_line_as_header(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("NIR\n" + "".join(f"18507751234{i:04d}\n" for i in range(12)),
                    encoding="utf-8")
    table, rows = read_all(path)
    assert table.header == ["NIR"] and len(rows) == 12 and rows[0].number == 1


def test_repeated_and_empty_headers_are_named(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("Nom;;Nom\n1;2;3\n", encoding="utf-8")
    table, _ = read_all(path)
    assert table.header == ["Nom", "colonne 2", "Nom (2)"]


def test_it_reads_gzip_and_zip_and_zip_of_gzip(tmp_path):
    raw = write_csv(tmp_path / "f.csv").read_bytes()
    gz = tmp_path / "f.csv.gz"
    gz.write_bytes(gzip.compress(raw))
    zp = tmp_path / "f.zip"
    with zipfile.ZipFile(zp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("export/patients.csv", raw)
        z.writestr("__MACOSX/._patients.csv", b"junk")
    zg = tmp_path / "g.zip"
    with zipfile.ZipFile(zg, "w") as z:
        z.writestr("patients.csv.gz", gzip.compress(raw))
    for path, compression in ((gz, "gzip"), (zp, "zip"), (zg, "zip+gzip")):
        table, rows = read_all(path)
        assert (table.compression, len(rows)) == (compression, 2)
        assert rows[1].values["Nom"] == "Lefèvre"


def test_it_reads_from_a_stream_too(tmp_path):
    raw = gzip.compress(write_csv(tmp_path / "f.csv").read_bytes())
    table, rows = read_all(io.BufferedReader(io.BytesIO(raw)))
    assert table.compression == "gzip" and len(rows) == 2


def make_xlsx(path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([None])
    sheet.append(["NIR", "Naissance", "Montant", "Calcul"])
    sheet.append([185077512345612, datetime(1985, 2, 3), 12.5, "=1+1"])
    sheet.append([None, date(1990, 1, 1), 3.0, None])
    book.save(path)
    return path


def test_it_reads_xlsx_values_never_formulas(tmp_path):
    table, rows = read_all(make_xlsx(tmp_path / "f.xlsx"))
    assert table.format == "xlsx" and table.header == ["NIR", "Naissance", "Montant", "Calcul"]
    assert rows[0].values == {"NIR": "185077512345612", "Naissance": "1985-02-03",
                              "Montant": "12.5", "Calcul": ""}  # no cached value: never "=1+1"
    assert rows[1].values["Naissance"] == "1990-01-01" and rows[1].values["Montant"] == "3"


def test_it_reads_an_xlsx_inside_a_zip(tmp_path):
    book = make_xlsx(tmp_path / "f.xlsx").read_bytes()
    zp = tmp_path / "f.zip"
    with zipfile.ZipFile(zp, "w") as z:
        z.writestr("f.xlsx", book)
    table, rows = read_all(zp)
    assert (table.format, table.compression, len(rows)) == ("xlsx", "zip", 2)


PATIENT = {"resourceType": "Patient", "id": "p1",
           "name": [{"family": "Dupré", "given": ["Élodie"]}], "birthDate": "1985-02-03"}


def test_it_reads_ndjson_and_fhir_ndjson(tmp_path):
    path = tmp_path / "f.ndjson"
    path.write_text('{"nom": "Dupré", "n": 1, "ok": true, "x": null}\n\n{"nom": "B"}\n',
                    encoding="utf-8")
    table, rows = read_all(path)
    assert table.format == "ndjson" and table.header == ["nom", "n", "ok", "x"]
    assert rows[0].values == {"nom": "Dupré", "n": "1", "ok": "true", "x": ""}
    assert rows[1].record == {"nom": "B"} and rows[1].number == 2
    path.write_text("\n".join(json.dumps(PATIENT | {"id": f"p{i}"}) for i in range(3)),
                    encoding="utf-8")
    table, rows = read_all(path)
    assert table.format == "fhir-ndjson" and len(rows) == 3
    assert rows[0].values["name.0.given.0"] == "Élodie" and rows[2].record["id"] == "p2"


def test_it_reads_fhir_bundles_pretty_or_one_per_line(tmp_path):
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": PATIENT}, {"resource": PATIENT | {"id": "p2"}}]}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle, indent=2), encoding="utf-8")
    table, rows = read_all(path)
    assert table.format == "fhir-bundle" and [r.record["id"] for r in rows] == ["p1", "p2"]
    path.write_text(json.dumps(bundle) + "\n" + json.dumps(bundle) + "\n", encoding="utf-8")
    table, rows = read_all(path)
    assert table.format == "fhir-bundle" and len(rows) == 4


def test_sample_gives_the_first_rows(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a\n" + "".join(f"{i}\n" for i in range(100)), encoding="utf-8")
    table, rows = sample(path, 20)
    assert table.header == ["a"] and len(rows) == 20 and rows[-1].values == {"a": "19"}


@pytest.mark.parametrize(("content", "code"), [
    (b"", "empty"), (b"  \n\r\n", "empty"), (b"\x00\x01\x02garbage\x00" * 50, "binary"),
    (bytes(range(256)) * 40, "binary"), (b"PK\x03\x04not really a zip", "binary"),
    (b"\x1f\x8b\x08\x00broken", "unreadable"), (b'{"a": 1}\n{broken\n', "json"),
    (b'{"a": [1,\n 2', "json"),
])
def test_it_refuses_bad_files_in_one_sentence(tmp_path, content, code):
    path = tmp_path / "f"
    path.write_bytes(content)
    with pytest.raises(TabularError) as caught:
        read_all(path)
    assert caught.value.code == code
    assert "\n" not in str(caught.value) and caught.value.en


def test_an_empty_archive_and_an_archive_of_two_files_are_refused(tmp_path):
    zp = tmp_path / "f.zip"
    with zipfile.ZipFile(zp, "w") as z:
        z.writestr("a.csv", "a\n1\n")
        z.writestr("b.csv", "a\n1\n")
    with pytest.raises(TabularError, match="plusieurs fichiers"):
        read_all(zp)


def test_a_zip_bomb_is_refused_before_inflating(tmp_path):
    zp = tmp_path / "bomb.zip"
    with zipfile.ZipFile(zp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.csv", b"a\n" + b"0" * (40 * 1024 * 1024))
    assert zp.stat().st_size < 200_000
    with pytest.raises(TabularError) as caught:
        read_all(zp)
    assert caught.value.code == "bomb"


def test_a_gzip_bomb_is_stopped_while_inflating(tmp_path):
    gz = tmp_path / "bomb.gz"
    with gzip.open(gz, "wb") as f:
        f.write(b"a;b\n")
        for _ in range(8):
            f.write(b"1;2\n" * (256 * 1024))
    with pytest.raises(TabularError) as caught:  # the same guard, smaller numbers
        read_all(gz, Limits(ratio_grace=1024 * 1024, max_ratio=100))
    assert caught.value.code == "bomb"


def test_the_total_size_is_bounded(tmp_path):
    gz = tmp_path / "f.gz"
    gz.write_bytes(gzip.compress(b"a\n" + b"1\n" * 50_000))
    with pytest.raises(TabularError) as caught:
        read_all(gz, Limits(max_bytes=10_000))
    assert caught.value.code == "too_big"


def test_an_absurd_line_is_refused_with_its_row(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a;b\n1;2\n" + "x" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(TabularError) as caught:
        read_all(path, Limits(max_line=1000))
    assert caught.value.code == "line_too_long" and "Ligne 2" in str(caught.value)


def test_a_late_encoding_change_names_its_row(tmp_path):
    path = tmp_path / "f.csv"
    body = "a;b\n" + "é;1\n" * 400_000
    path.write_bytes(body.encode("utf-8") + "ï;2\n".encode("latin-1"))
    with pytest.raises(TabularError) as caught:
        read_all(path)
    assert caught.value.code == "encoding" and "Vers la ligne 39" in str(caught.value)


def test_a_big_file_streams_in_bounded_memory(tmp_path):
    import tracemalloc  # noqa: PLC0415 - only this test measures memory

    path = tmp_path / "big.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        f.write("nom;prenom;date\n")
        for i in range(300_000):
            f.write(f"NOM{i};Prénom{i};01/01/1980\n")
    tracemalloc.start()
    count = 0
    with open_table(path) as table:
        for _ in table.rows():
            count += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 300_000
    assert peak < 20 * 1024 * 1024


def _peak_reading(path) -> tuple[int, int]:
    import tracemalloc  # noqa: PLC0415 - only these tests measure memory

    tracemalloc.start()
    count = 0
    with open_table(path) as table:
        for _ in table.rows():
            count += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, peak


def test_a_big_pretty_printed_array_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps({"nom": f"NOM{i}", "prenom": "Élodie", "n": i,
                                       "adresse": {"ville": "Lyon", "cp": "69003"}},
                                      ensure_ascii=False, indent=2)
                           for i in range(60_000)))
        f.write("\n]\n")
    assert path.stat().st_size > 5 * 1024 * 1024
    count, peak = _peak_reading(path)
    assert count == 60_000
    # The format's detection holds a 1 MiB head (4 MiB as text): a constant, whatever the
    # size; the whole document parsed would take several times its size.
    assert peak < 6 * 1024 * 1024


def test_a_big_pretty_printed_bundle_streams_in_bounded_memory(tmp_path):
    path = tmp_path / "big-bundle.json"
    entries = ",\n".join(json.dumps({"resource": PATIENT | {"id": f"p{i}"}}, indent=2)
                         for i in range(40_000))
    path.write_text('{\n "resourceType": "Bundle",\n "type": "collection",\n "entry": [\n'
                    + entries + "\n ]\n}\n", encoding="utf-8")
    assert path.stat().st_size > 5 * 1024 * 1024
    count, peak = _peak_reading(path)
    assert count == 40_000
    assert peak < 6 * 1024 * 1024


@pytest.mark.parametrize(("document", "expected"), [
    ('[\n{"a": 1},\n{"a": 2}\n]', ["1", "2"]),
    ('[\n 12345678901234567890 , {"a": "x"}\n]', ["x"]),  # a scalar item is skipped
    ('{\n "entry": [{"resource": {"id": "e"}}], "resourceType": "Bundle"\n}', ["e"]),
    ('{\n "a": 7,\n "b": [1, 2]\n}', ["7"]),  # any other object is one record
    ('[\n [{"a": 3}], {"resourceType": "Bundle", "entry": [{"resource": {"a": 4}}]}\n]',
     ["3", "4"]),
])
def test_documents_read_as_before(tmp_path, document, expected):
    path = tmp_path / "d.json"
    path.write_text(document, encoding="utf-8")
    _, rows = read_all(path)
    assert [r.values.get("a") or r.values.get("id") for r in rows] == expected


@pytest.mark.parametrize("document", ['[\n{"a": 1}\n{"a": 2}]', '[\n{"a": 1},\n', '{\n"a" 1}',
                                      '[\n{"a": 1}\n] trailing'])
def test_a_broken_document_is_refused(tmp_path, document):
    path = tmp_path / "d.json"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(TabularError) as caught:
        read_all(path)
    assert caught.value.code == "json"


def test_one_record_over_the_bound_is_refused(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[\n{"a": "' + "x" * 300_000 + '"}\n]', encoding="utf-8")
    with pytest.raises(TabularError) as caught:
        read_all(path, limits=Limits(max_json_document=100_000))
    assert caught.value.code == "too_big"
