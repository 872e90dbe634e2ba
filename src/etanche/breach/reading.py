"""A leaked file as tables of text rows, whatever its format, streamed.

`sections(source)` yields `Section(name, header, rows)` where rows are
`(number, [cell, ...])`, `number` the 1-based data-row number of the file (counted across
the tables of an SQL dump, so a number names one row of the file). Formats: everything
`tabular.readers` reads (CSV, XLSX, JSON array, NDJSON, FHIR NDJSON and Bundles, under gzip
or zip), plus SQL dumps (`tabular.sqldump`), compressed or not. JSON records are flattened
to dotted paths; a key first seen after the header was fixed gets a column of its own.
Errors: TabularError, one French sentence that quotes nothing from the file.
"""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain

from etanche.tabular import errors, recognise, sources, sqldump, text
from etanche.tabular.readers import Limits, TabularError, open_table

__all__ = ["Limits", "Section", "TabularError", "sections"]

HEAD = 256 * 1024


@dataclass
class Section:
    name: str
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    format: str = ""
    compression: str | None = None


@contextmanager
def _opened(source):
    """A fresh binary stream of the file: `source` is a path, or a function opening one
    (an upload decrypted on the fly cannot be rewound, so it is opened again)."""
    stream = source() if callable(source) else open(source, "rb")  # noqa: SIM115
    try:
        yield stream
    finally:
        stream.close()


@contextmanager
def _sql_stream(raw, limits: Limits):
    """(text stream, compression) when the file is an SQL dump, else (None, None)."""
    opened = sources.open_source(raw, limits)
    try:
        if opened.kind != "stream":
            yield None, None
            return
        head = opened.stream.peek(HEAD)[:HEAD]
        encoding = text.detect_encoding(head)
        head_text = text.decode_head(head, encoding)
        if not head.strip() or text.looks_binary(head_text) or \
                not sqldump.looks_like_sql(head_text):
            yield None, None
            return
        stream = io.TextIOWrapper(opened.stream, encoding=encoding, errors="strict")
        opened.closers.append(stream)
        yield stream, opened.compression
    finally:
        opened.close()


def _sql_sections(stream, compression) -> Iterator[Section]:
    number = 0
    for table in sqldump.read_tables(stream):
        def rows(table=table):
            nonlocal number
            for values in table.rows:
                number += 1
                yield number, ["" if v is None else v for v in values]
        header = list(table.columns)
        yield Section(table.name, header, rows(), "sql", compression)


def headerless(header: list[str]) -> bool:
    """A first row that holds NIRs, e-mails, phones or dates is data, not column names."""
    # One such cell suffices: no column is named like that, and a header is printed in the
    # report, so a row of data taken for a header would print someone's data.
    return any(recognise.as_nir(cell) or recognise.as_email(cell) or recognise.as_phone(cell)
               or recognise.as_date(cell) for cell in header)


def _table_rows(table, header: list[str], shift: int = 0) -> Iterator[tuple[int, list[str]]]:
    positions = {name: i for i, name in enumerate(header)}
    for row in table.rows():
        cells = [""] * len(header)
        for key, value in row.values.items():
            index = positions.get(key)
            if index is None:  # a JSON key the first record did not have
                index = positions[key] = len(header)
                header.append(key)
                cells.append("")
            cells[index] = value
        yield row.number + shift, cells


def sections(source, limits: Limits | None = None) -> Iterator[Section]:
    """The file's tables, one after the other (consume one before asking for the next).
    `source`: a path, or a function returning a new binary stream of the file."""
    limits = limits or Limits()
    try:
        with _opened(source) as raw, _sql_stream(raw, limits) as (stream, compression):
            if stream is not None:
                yield from _sql_sections(stream, compression)
                return
        with _opened(source) as raw, open_table(raw, limits) as table:
            header = list(table.header)
            if table.format in ("csv", "xlsx") and headerless(header):
                # No header row: the first line is row 1, every other row moves down one.
                first = list(header)  # the reader's names for the columns: row 1's cells
                rows = _table_rows(table, header, shift=1)
                names = [f"colonne {i + 1}" for i in range(len(first))]
                yield Section(table.format, names, chain([(1, first)], rows), table.format,
                              table.compression)
                return
            yield Section(table.format, header, _table_rows(table, header), table.format,
                          table.compression)
    except UnicodeDecodeError as exc:
        raise TabularError("encoding", "Caractères illisibles dans l'encodage détecté ; "
                           "réenregistrez le fichier en UTF-8.",
                           "Characters unreadable in the detected encoding.") from exc
    except (OSError, EOFError) as exc:
        raise errors.TabularError("unreadable", "Le fichier est illisible ou tronqué.",
                                  "The file is unreadable or truncated.") from exc
