"""CSV layout of an export (docs/exports.md, "CSV layout").

- UTF-8 with a byte-order mark, comma separator, CRLF line ends, RFC 4180 quoting.
  The BOM is there because lab staff open these files in a spreadsheet, which
  otherwise reads UTF-8 accents as Windows-1252; Python reads it with
  encoding="utf-8-sig", most importers skip it.
- The header is the profile's fields, in the profile's order, nothing else.
- One line per request; patient columns repeat on each of their requests; a
  patient with no request has one line with empty request columns.
- Several values in one cell are joined with "|" (first names, phones, test
  codes and labels, specimens in barcode order). Answers are "key=value" joined
  with "|"; booleans are "true"/"false".
- Formula injection (OWASP): a cell starting with =, +, -, @, tab or carriage
  return gets a leading apostrophe, so a spreadsheet shows it as text. Phone
  numbers in E.164 therefore read "'+33...": importers strip one leading
  apostrophe before those characters.
"""

import csv
import io

from etanche.exports.profiles import PATIENT, REQUEST, SPECIMEN, Profile

BOM = "\ufeff"
SEPARATOR = "|"
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


_DANGEROUS = frozenset(DANGEROUS_START)


def neutralise(text: str) -> str:
    return "'" + text if text[:1] in _DANGEROUS else text


def _cell(value) -> str:
    if type(value) is str:  # the common case, first: this runs for every cell
        return "'" + value if value[:1] in _DANGEROUS else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        text = SEPARATOR.join(_cell(v) for v in value)
    elif isinstance(value, dict):
        text = SEPARATOR.join(f"{k}={_cell(v)}" for k, v in sorted(value.items()))
    else:
        text = str(value)
    return neutralise(text)


class CsvWriter:
    def __init__(self, profile: Profile):
        self.profile = profile
        self.patient = profile.at(PATIENT)
        self.request = profile.at(REQUEST)
        self.specimen = profile.at(SPECIMEN)

    def header(self) -> bytes:
        return (BOM + self._lines([list(self.profile.fields)])).encode("utf-8")

    def _lines(self, rows) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerows(rows)
        return buffer.getvalue()

    def _row(self, patient: dict, order: dict | None) -> list[str]:
        values = {name: patient.get(name) for name in self.patient}
        if order is not None:
            values.update({name: order.get(name) for name in self.request})
            specimens = order.get("specimens") or []
            for name in self.specimen:
                values[name] = [s.get(name) or "" for s in specimens] or None
        return [_cell(values.get(name)) for name in self.profile.fields]

    def records(self, records: list[dict]) -> bytes:
        rows = []
        for record in records:
            requests = record["requests"] if (self.request or self.specimen) else []
            for order in requests or [None]:
                rows.append(self._row(record["patient"], order))
        return self._lines(rows).encode("utf-8")

    def footer(self) -> bytes:
        return b""
