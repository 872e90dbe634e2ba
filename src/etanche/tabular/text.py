"""Text files: the encoding, the CSV dialect, lines of bounded length.

`detect_encoding(head)` -> "utf-8-sig" (BOM), "utf-16" (BOM), "utf-8", "cp1252"
(Windows-1252: bytes 0x80-0x9F used as its letters and signs, such as ’ € œ)
or "latin-1" (ISO-8859-1: every other 8-bit text). `looks_binary(text)` tells
garbage from text. `detect_dialect(lines)` -> (delimiter, quotechar) among
; , TAB | and " '.
"""

import codecs
import csv

DELIMITERS = (";", ",", "\t", "|")
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f"}


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    high = {b for b in head if 0x80 <= b <= 0x9F}
    if high and not high & _CP1252_UNDEFINED:
        return "cp1252"
    return "latin-1"


def decode_head(head: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)


def looks_binary(text: str) -> bool:
    """NUL or more than 1 % of control characters: not a text table."""
    if not text:
        return False
    if "\x00" in text:
        return True
    controls = sum(1 for ch in text if ch < " " and ch not in _ALLOWED_CONTROLS)
    return controls * 100 > len(text)


def _score(lines: list[str], delimiter: str, quotechar: str) -> tuple[float, int]:
    try:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter,
                                                 quotechar=quotechar) if row]
    except csv.Error:
        return (0.0, 0)
    if not counts:
        return (0.0, 0)
    mode = max(set(counts), key=counts.count)
    if mode < 2:
        return (0.0, 1)
    return (counts.count(mode) / len(counts), mode)


def detect_dialect(lines: list[str]) -> tuple[str, str]:
    """The delimiter whose rows agree most on one width above 1 (wider wins a tie),
    then the quote character: ' only when it opens fields and " never does."""
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        score = _score(lines, delimiter, '"')
        if score > best_score:
            best, best_score = delimiter, score
    sample = "".join(lines)
    double = sample.count(best + '"') + sum(1 for line in lines if line.startswith('"'))
    single = sample.count(best + "'") + sum(1 for line in lines if line.startswith("'"))
    quotechar = "'" if single > 0 and double == 0 and single >= len(lines) else '"'
    return best, quotechar
