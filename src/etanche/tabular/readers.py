"""Rows out of a lab's files, streamed: CSV, XLSX, NDJSON, FHIR NDJSON, FHIR Bundles,
each of them raw, gzip- or zip-compressed.

API (shared by the import and the breach scan)::

    from etanche.tabular.readers import open_table, Limits, TabularError

    with open_table(path_or_binary_file) as table:
        table.format       # "csv" | "xlsx" | "ndjson" | "fhir-ndjson" | "fhir-bundle" | "json"
        table.compression  # None | "gzip" | "zip" | "zip+gzip" ... (outermost first)
        table.encoding     # text formats: "utf-8", "utf-8-sig", "cp1252", "latin-1"...
        table.delimiter    # CSV only (";", ",", "\\t", "|"), table.quotechar too
        table.header       # column names (CSV/XLSX: the first row of two or more
                           # cells, title lines of one cell above it passed over,
                           # else the first non-empty row; JSON: the flattened
                           # keys of the first record)
        for row in table.rows():    # one pass, row by row
            row.number     # 1-based data record number (the header is not counted;
                           # a blank line is skipped but counted, so the numbers
                           # follow the file from the header: row 1 is the line
                           # after it)
            row.values     # {column: str}; JSON records flattened to dotted
                           # paths ("name.0.family"), missing cells ""
            row.record     # the parsed JSON object (FHIR resource), None for CSV/XLSX

    sample(source, n=20) -> (table facts, header, first n rows): for a mapping proposal.

Bounded memory: CSV and NDJSON are read line by line (a line may not exceed
`Limits.max_line` characters), XLSX through openpyxl's read-only mode with
cached values only (a formula is never evaluated, its last computed value is
read; a formula string is never returned), gzip and zip inflated as a stream
under the guards of `sources.Limits` (total size, compression ratio). A
pretty-printed JSON document (an array, a FHIR Bundle written on many lines) is
streamed record by record (tabular/jsonstream.py): one record may not exceed
`Limits.max_json_document` characters.

Errors: `TabularError` (errors.py), one sentence, French by `str()`, English in
`.en`, a `.code`; never a cell's content. An empty file, binary garbage, a bomb,
an absurd line, a truncated archive or broken JSON each get their own.
"""

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from etanche.tabular import errors, jsonstream, sources, text
from etanche.tabular.errors import TabularError
from etanche.tabular.sources import Limits

__all__ = ["Limits", "Row", "Table", "TabularError", "open_table", "sample"]

HEAD_BYTES = 1024 * 1024
DIALECT_LINES = 50


@dataclass(slots=True)
class Row:
    number: int
    values: dict[str, str]
    record: dict | None = None


@dataclass
class Table:
    format: str
    compression: str | None
    header: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    quotechar: str | None = None
    _rows: Iterator[Row] | None = field(default=None, repr=False)
    _opened: sources.Opened | None = field(default=None, repr=False)

    def rows(self) -> Iterator[Row]:
        if self._rows is None:
            raise RuntimeError("rows() already consumed")
        rows, self._rows = self._rows, None
        return rows

    def close(self) -> None:
        if self._opened:
            self._opened.close()
            self._opened = None

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def header_of(cells) -> list[str]:
    """Column names: stripped, an empty one named by its position, a repeated one
    numbered (a file with two "Nom" columns keeps both)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells, start=1):
        name = (str(cell) if cell is not None else "").strip() or f"colonne {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


# Exports from spreadsheets and older programs often open with a title or a date line
# ("Export des patients", "Édité le ...") above the column names: a first row with a single
# cell is such a line when one of the next ones has several.
TITLE_ROWS = 10


def _find_header(records: Iterator[list[str]]) -> tuple[list[str] | None, list[list[str]]]:
    """(the header's cells, the records read after it), reading at most TITLE_ROWS
    non-empty records ahead; None when every record is empty."""
    seen: list[list[str]] = []
    filled = 0
    for cells in records:
        seen.append(cells)
        width = sum(1 for c in cells if c.strip())
        if width >= 2:
            break
        filled += width > 0
        if filled >= TITLE_ROWS:
            break
    for at, cells in enumerate(seen):
        if sum(1 for c in cells if c.strip()) >= 2:
            return cells, seen[at + 1:]
    for at, cells in enumerate(seen):  # one column throughout: its first cell names it
        if any(c.strip() for c in cells):
            return cells, seen[at + 1:]
    return None, []


def _zip_row(header: list[str], cells: list[str]) -> dict[str, str]:
    values = dict(zip(header, cells, strict=False))
    for i in range(len(header), len(cells)):
        values[f"colonne {i + 1}"] = cells[i]
    for name in header[len(cells):]:
        values[name] = ""
    return values


# -- text: CSV and JSON lines ------------------------------------------------------------

def _lines(stream: io.TextIOBase, limits: Limits, first_row: int) -> Iterator[str]:
    """Lines of at most max_line characters (line endings kept: csv needs them)."""
    count = 0
    while True:
        line = stream.readline(limits.max_line + 1)
        if not line:
            return
        count += 1
        if len(line) > limits.max_line:
            raise errors.line_too_long(max(count - first_row, 1), limits.max_line)
        yield line


def _decoding(row: int, exc: Exception) -> TabularError:
    # Text is decoded by chunks of some kilobytes: the row is where the chunk was read.
    return TabularError(
        "encoding",
        f"Vers la ligne {row} : caractères illisibles dans l'encodage détecté ; "
        "réenregistrez le fichier en UTF-8.",
        f"Near row {row}: characters unreadable in the detected encoding; save the file as "
        "UTF-8.")


def _csv_table(opened: sources.Opened, encoding: str, head_text: str,
               limits: Limits) -> Table:
    sample_lines = head_text.splitlines(keepends=True)[:DIALECT_LINES]
    delimiter, quotechar = text.detect_dialect(sample_lines)
    stream = io.TextIOWrapper(opened.stream, encoding=encoding, newline="")
    opened.closers.append(stream)
    reader = csv.reader(_lines(stream, limits, 1), delimiter=delimiter, quotechar=quotechar)
    number = 0
    try:
        found, after = _find_header(reader)
    except UnicodeDecodeError as exc:
        raise _decoding(1, exc) from exc
    except csv.Error as exc:
        raise _malformed(1) from exc
    if found is None:
        raise errors.empty()
    header = header_of(found)

    def rows() -> Iterator[Row]:
        nonlocal number
        try:
            for cells in itertools.chain(after, reader):
                number += 1
                if not any(c.strip() for c in cells):
                    continue
                yield Row(number, _zip_row(header, cells))
        except UnicodeDecodeError as exc:
            raise _decoding(number + 1, exc) from exc
        except csv.Error as exc:
            raise _malformed(number + 1) from exc
        except (OSError, EOFError) as exc:
            raise _truncated() from exc

    return Table("csv", opened.compression, header, encoding, delimiter, quotechar,
                 rows(), opened)


def _malformed(row: int) -> TabularError:
    return TabularError("csv", f"Ligne {row} : CSV mal formé (guillemet non fermé ou champ "
                        "trop long).", f"Row {row}: malformed CSV (unclosed quote or field "
                        "too long).")


def _truncated() -> TabularError:
    return TabularError("unreadable", "Le fichier compressé est illisible ou tronqué.",
                        "The compressed file is unreadable or truncated.")


def _bad_json(row: int) -> TabularError:
    return TabularError("json", f"Enregistrement {row} : JSON illisible.",
                        f"Record {row}: unreadable JSON.")


def flatten(value, prefix: str = "", out: dict | None = None) -> dict[str, str]:
    """A JSON value as {dotted.path: text}: lists by index, None as ""."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            flatten(item, f"{prefix}.{i}" if prefix else str(i), out)
    elif value is None:
        out[prefix] = ""
    elif isinstance(value, bool):
        out[prefix] = "true" if value else "false"
    else:
        out[prefix] = str(value)
    return out


def _expand(obj) -> Iterator[dict]:
    """A FHIR Bundle gives its entries' resources; a list its items; an object itself."""
    if isinstance(obj, dict) and obj.get("resourceType") == "Bundle":
        for entry in obj.get("entry") or []:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                yield entry["resource"]
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, dict):
                yield from _expand(item)
    elif isinstance(obj, dict):
        yield obj


def _bundle_entry(entry) -> Iterator[dict]:
    if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
        yield entry["resource"]


def _document(stream, head: str, limits: Limits) -> Iterator[tuple[str, object]]:
    """jsonstream.records with the reader's errors."""
    try:
        yield from jsonstream.records(stream, head, limits.max_json_document)
    except jsonstream.TooBig as exc:
        raise errors.too_big(limits.max_json_document) from exc
    except jsonstream.BadJson as exc:
        raise _bad_json(1) from exc
    except UnicodeDecodeError as exc:
        raise _decoding(1, exc) from exc
    except (OSError, EOFError) as exc:
        raise _truncated() from exc


def _json_table(opened: sources.Opened, encoding: str, limits: Limits) -> Table:
    stream = io.TextIOWrapper(opened.stream, encoding=encoding)
    opened.closers.append(stream)
    lines = _lines(stream, limits, 0)
    try:
        first_line = next((line for line in lines if line.strip()), "")
    except UnicodeDecodeError as exc:
        raise _decoding(1, exc) from exc
    try:
        first = json.loads(first_line)
        whole = not isinstance(first, dict)
    except ValueError:
        whole = True
    if whole:
        # One JSON document on many lines: streamed record by record, each within its
        # own bound (tabular/jsonstream.py).
        parts = _document(stream, first_line, limits)
        kind, first_part = next(parts, ("array", None))
        fmt = "fhir-bundle" if kind == "bundle" else "json"

        def from_document() -> Iterator[dict]:
            for part in ([] if first_part is None else [first_part]):
                yield from _bundle_entry(part) if kind == "bundle" else _expand(part)
            for _, part in parts:
                yield from _bundle_entry(part) if kind == "bundle" else _expand(part)

        records: Iterator[dict] = from_document()
    else:
        fmt = "fhir-ndjson" if "resourceType" in first else "ndjson"
        if first.get("resourceType") == "Bundle":
            fmt = "fhir-bundle"

        def from_lines() -> Iterator[dict]:
            yield from _expand(first)
            n = 1
            try:
                for line in lines:
                    n += 1
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError as exc:
                        raise _bad_json(n) from exc
                    yield from _expand(obj)
            except UnicodeDecodeError as exc:
                raise _decoding(n, exc) from exc
            except (OSError, EOFError) as exc:
                raise _truncated() from exc

        records = from_lines()
    first_record = next(records, None)
    if first_record is None:
        raise errors.empty()
    header = list(flatten(first_record))

    def rows() -> Iterator[Row]:
        yield Row(1, flatten(first_record), first_record)
        for number, record in enumerate(records, start=2):
            yield Row(number, flatten(record), record)

    return Table(fmt, opened.compression, header, encoding, _rows=rows(), _opened=opened)


# -- XLSX ---------------------------------------------------------------------------------

def cell_text(value) -> str:
    """A workbook's typed cell as text: dates ISO, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    return str(value)


def _xlsx_table(opened: sources.Opened) -> Table:
    import openpyxl  # noqa: PLC0415 - loaded only for a workbook (heavy, rarely needed)

    try:
        book = openpyxl.load_workbook(opened.stream, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken book
        raise TabularError("xlsx", "Le classeur XLSX est illisible.",
                           "The XLSX workbook is unreadable.") from exc
    opened.closers.append(book)
    if not book.worksheets:
        raise errors.empty()
    records = ([cell_text(v) for v in values]
               for values in book.worksheets[0].iter_rows(values_only=True))
    found, after = _find_header(records)
    if found is None:
        raise errors.empty()
    header = header_of(found)

    def rows() -> Iterator[Row]:
        for number, texts in enumerate(itertools.chain(after, records), start=1):
            if any(t.strip() for t in texts):
                yield Row(number, _zip_row(header, texts))

    return Table("xlsx", opened.compression, header, _rows=rows(), _opened=opened)


# -- entry points -------------------------------------------------------------------------

def open_table(source: str | Path | io.IOBase, limits: Limits | None = None) -> Table:
    """Open a file (path or binary stream) as a table; close it (or use `with`)."""
    limits = limits or Limits()
    opened = sources.open_source(source, limits)
    try:
        if opened.kind == "zip":
            return _xlsx_table(opened)
        try:
            head = opened.stream.peek(HEAD_BYTES)[:HEAD_BYTES]
        except (OSError, EOFError) as exc:
            raise _truncated() from exc
        if not head.strip():
            raise errors.empty()
        encoding = text.detect_encoding(head)
        head_text = text.decode_head(head, encoding)
        if text.looks_binary(head_text):
            raise errors.binary()
        if head_text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
            return _json_table(opened, encoding, limits)
        return _csv_table(opened, encoding, head_text, limits)
    except BaseException:
        opened.close()
        raise


def sample(source, n: int = 20, limits: Limits | None = None) -> tuple[Table, list[Row]]:
    """The table's facts and its first n rows (the file is closed on return)."""
    with open_table(source, limits) as table:
        rows = []
        for row in table.rows():
            rows.append(row)
            if len(rows) >= n:
                break
    return table, rows
