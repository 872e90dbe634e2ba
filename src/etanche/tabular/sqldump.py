"""Rows out of an SQL dump (mysqldump, MariaDB, pg_dump), streamed, table by table.

    from etanche.tabular import sqldump

    sqldump.looks_like_sql(head_text) -> bool      # the first kilobytes of a decoded file
    for table in sqldump.read_dump(text_stream):   # a text stream (decoded, decompressed)
        table.name, table.columns                  # from the INSERT/COPY column list, else
                                                   # from the CREATE TABLE before it
        for values in table.rows:                  # list[str | None] (NULL -> None), in order
            ...                                    # (consume a table before the next one)

Statements understood: `INSERT [IGNORE] INTO t [(cols)] VALUES (...), (...);` (MySQL
extended inserts and pg_dump --inserts) and `COPY t (cols) FROM stdin;` followed by its
tab-separated lines up to `\\.` (pg_dump's default). Everything else (SET, CREATE INDEX,
comments, ALTER...) is skipped. MySQL strings take backslash escapes; PostgreSQL strings
(standard_conforming_strings) do not, except E'...'. psql meta-commands between statements
(`\\restrict`, `\\connect`) are skipped. Memory: an INSERT is parsed tuple by
tuple as its lines arrive (one tuple of at most `max_statement` characters in memory,
whatever the statement's length); any other statement is held whole, at most
`max_statement` characters; longer is refused with a TabularError, like a CSV line that
never ends.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from etanche.tabular.errors import TabularError

MAX_STATEMENT = 64 * 1024 * 1024
_LINE = 1024 * 1024

_SQL_START = re.compile(
    r"^\s*(?:--[^\n]*\n|/\*.*?\*/;?\s*|SET\s[^\n]*\n|\s)*"
    r"(?:INSERT\s+(?:IGNORE\s+)?INTO|COPY\s|CREATE\s+TABLE|DROP\s+TABLE|LOCK\s+TABLES|"
    r"SELECT\s+pg_catalog|BEGIN|START\s+TRANSACTION)",
    re.IGNORECASE | re.DOTALL,
)
_DUMP_BANNER = re.compile(r"(?:MySQL dump|MariaDB dump|PostgreSQL database dump)", re.I)
_NAME = r"(?:`[^`]+`|\"[^\"]+\"|[\w$]+)(?:\.(?:`[^`]+`|\"[^\"]+\"|[\w$]+))?"
_INSERT = re.compile(
    rf"INSERT\s+(?:IGNORE\s+)?INTO\s+({_NAME})\s*(\([^)]*\))?\s*VALUES\s*", re.I)
_COPY = re.compile(rf"COPY\s+({_NAME})\s*(\([^)]*\))?\s+FROM\s+stdin", re.I)
_CREATE = re.compile(rf"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})\s*\(", re.I)
_CREATE_COLUMN = re.compile(r"\s*(`[^`]+`|\"[^\"]+\"|\w+)(?:\s|$)")
_NOT_COLUMNS = {"PRIMARY", "KEY", "UNIQUE", "CONSTRAINT", "INDEX", "FOREIGN", "CHECK",
                "FULLTEXT", "SPATIAL", "EXCLUDE"}
_MYSQL_STRING = r"'(?:[^'\\]|\\.|'')*'"
_PG_STRING = r"'(?:[^']|'')*'"
_E_STRING = r"[eE]'(?:[^'\\]|\\.|'')*'"
_TOKENS = {
    True: re.compile(rf"({_E_STRING}|{_MYSQL_STRING})|([(),;])|([^\s,();']+)", re.S),
    False: re.compile(rf"({_E_STRING}|{_PG_STRING})|([(),;])|([^\s,();']+)", re.S),
}
_BACKSLASH = {"n": "\n", "t": "\t", "r": "\r", "0": "\x00", "b": "\b", "Z": "\x1a",
              "\\": "\\", "'": "'", '"': '"'}
_ESCAPE = re.compile(r"\\(.)", re.S)
_COPY_ESCAPE = re.compile(r"\\(.)")


def _error(statement: int) -> TabularError:
    return TabularError(
        "sql", f"Instruction SQL {statement} illisible ou trop longue.",
        f"SQL statement {statement} is unreadable or too long.")


def looks_like_sql(head: str) -> bool:
    return bool(_DUMP_BANNER.search(head[:4096]) or _SQL_START.match(head[:65536]))


@dataclass
class DumpTable:
    name: str
    columns: list[str]
    rows: Iterator[list[str | None]]


def _unquote(name: str) -> str:
    return ".".join(part.strip('`"') for part in re.findall(r"`[^`]+`|\"[^\"]+\"|[^.]+", name))


def _column_list(text: str | None) -> list[str]:
    if not text:
        return []
    return [_unquote(c.strip()) for c in text.strip("()").split(",") if c.strip()]


def _create_columns(body: str) -> list[str]:
    """The column names of a CREATE TABLE, from the text after its opening parenthesis:
    its definitions split at the commas outside parentheses and quotes, so that one per
    line (mysqldump, pg_dump) and all on one line (SQLite's .dump, hand-written dumps)
    read alike; a type may hold commas (`decimal(10,2)`) and SQLite's may be absent."""
    parts, depth, start, quote = [], 0, 0, ""
    for i, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'`\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif char in ",)":
            parts.append(body[start:i])
            start = i + 1
            if char == ")":
                break
    names = [match.group(1) for part in parts if (match := _CREATE_COLUMN.match(part))]
    return [_unquote(n) for n in names if n.upper() not in _NOT_COLUMNS]


def _string(token: str, backslashes: bool) -> str:
    if token[0] in "eE":
        return _ESCAPE.sub(lambda m: _BACKSLASH.get(m.group(1), m.group(1)),
                           token[2:-1].replace("''", "'"))
    body = token[1:-1]
    if backslashes:
        body = _ESCAPE.sub(lambda m: _BACKSLASH.get(m.group(1), m.group(1)), body)
    return body.replace("''", "'")


def _tuples(text: str, backslashes: bool, statement: int) -> Iterator[list[str | None]]:
    """The value tuples of an INSERT's VALUES part; a nested call (now()) kept as text."""
    rest = yield from _complete_tuples(text, backslashes, statement)
    if rest.strip():
        raise _error(statement)


def _complete_tuples(text: str, backslashes: bool, statement: int):
    """The tuples of `text` that close in it; returns the text after the last one (the
    start of a tuple that goes on in the next piece). `text` must not end inside a string."""
    depth, values, atom, done = 0, [], None, 0
    for match in _TOKENS[backslashes].finditer(text):
        quoted, punct, bare = match.groups()
        if punct == "(":
            depth += 1
            if depth == 1:
                values, atom = [], None
            continue
        if punct == ")":
            depth -= 1
            if depth == 0:
                values.append(atom)
                done = match.end()
                yield values
            elif depth < 0:
                raise _error(statement)
            continue
        if depth == 0:
            done = match.end()
            continue  # the commas between tuples and the final semicolon
        if depth > 1:
            continue  # inside a function call: its arguments are not columns
        if punct == ",":
            values.append(atom)
            atom = None
        elif quoted is not None:
            atom = _string(quoted, backslashes)
        elif bare is not None:
            atom = None if bare.upper() == "NULL" else bare.removeprefix("_binary")
    return text[done:] if depth else ""


def _streamed_tuples(pieces, backslashes: bool, statement: int, limit: int):
    """The tuples of an INSERT read piece by piece ((text, ends inside a string)): memory
    holds one tuple and one piece, never the statement."""
    carry = ""
    for text, in_quote in pieces:
        carry += text
        if len(carry) > limit:
            raise _error(statement)
        if not in_quote:
            carry = yield from _complete_tuples(carry, backslashes, statement)
    if carry.strip():
        raise _error(statement)


def _copy_value(cell: str) -> str | None:
    if cell == "\\N":
        return None
    return _COPY_ESCAPE.sub(lambda m: _BACKSLASH.get(m.group(1), m.group(1)), cell)


class _Statements:
    """The dump cut into statements (and COPY data lines), one at a time."""

    def __init__(self, stream, max_statement: int):
        self.stream = stream
        self.max_statement = max_statement
        self.backslashes = True
        self.count = 0

    def _line(self) -> str:
        return self.stream.readline(_LINE)

    def _ends_in_quote(self, line: str, in_quote: bool) -> bool:
        pos = 0
        closing = re.compile(r"(?:[^'\\]|\\.|'')*'" if self.backslashes else r"(?:[^']|'')*'",
                             re.S)
        while True:
            if in_quote:
                match = closing.match(line, pos)
                if not match:
                    return True
                pos, in_quote = match.end(), False
                if line.startswith("'", pos):  # '' right after: still inside
                    pos, in_quote = pos + 1, True
            else:
                found = line.find("'", pos)
                if found < 0:
                    return False
                pos, in_quote = found + 1, True

    def _insert(self, first: str) -> Iterator[tuple[str, bool]]:
        """An INSERT's lines, (text, ends inside a string), up to its final semicolon."""
        line, in_quote = first, False
        while line:
            in_quote = self._ends_in_quote(line, in_quote)
            yield line, in_quote
            if not in_quote and line.rstrip().endswith(";"):
                return
            line = self._line()
        yield ";", in_quote  # the dump ended inside the statement: the parser says so

    def __iter__(self) -> Iterator[str | tuple]:
        """Statements as text; an INSERT whose head is on its first line as
        ("insert", head match, its pieces), which the caller must consume in turn."""
        parts: list[str] = []
        size, in_quote = 0, False
        while line := self._line():
            if not parts:
                stripped = line.lstrip()
                # psql's meta-commands stand alone on their line, without a semicolon:
                # pg_dump (15.14, 16.10, 17.6 and later) opens and closes every dump with
                # `\restrict KEY` / `\unrestrict KEY`; pg_dumpall writes `\connect db`.
                if not stripped or stripped.startswith(("--", "#", "\\")):
                    if _DUMP_BANNER.search(line) and "PostgreSQL" in line:
                        self.backslashes = False
                    continue
                if stripped[:6].upper() == "INSERT" and (match := _INSERT.match(stripped)):
                    self.count += 1
                    pieces = self._insert(stripped)
                    yield "insert", match, pieces
                    for _ in pieces:  # what the caller left unread
                        pass
                    continue
            parts.append(line)
            size += len(line)
            if size > self.max_statement:
                raise _error(self.count + 1)
            in_quote = self._ends_in_quote(line, in_quote)
            if not in_quote and line.rstrip().endswith(";"):
                self.count += 1
                statement = "".join(parts)
                parts, size = [], 0
                if re.match(r"\s*SET\s+standard_conforming_strings\s*=\s*(?:on|'on')",
                            statement, re.I):
                    self.backslashes = False
                yield statement
        if parts and "".join(parts).strip():
            raise _error(self.count + 1)

    def copy_lines(self) -> Iterator[str]:
        while line := self._line():
            if len(line) >= _LINE and not line.endswith("\n"):
                raise _error(self.count + 1)
            line = line.rstrip("\r\n")
            if line == "\\.":
                return
            yield line
        raise _error(self.count + 1)


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest


def read_dump(stream, max_statement: int = MAX_STATEMENT) -> Iterator[DumpTable]:
    """The tables of a dump, in the order their data appears (see the module docstring)."""
    statements = _Statements(stream, max_statement)
    created: dict[str, list[str]] = {}
    for statement in statements:
        if isinstance(statement, tuple):
            _, match, pieces = statement
            name = _unquote(match.group(1))
            columns = _column_list(match.group(2)) or created.get(name, [])
            first, in_quote = next(pieces)
            parts = _chain([(first[match.end():], in_quote)], pieces)
            yield DumpTable(name, columns, _streamed_tuples(
                parts, statements.backslashes, statements.count, max_statement))
            continue
        head = statement.lstrip()
        if head[:6].upper() == "CREATE" and (match := _CREATE.match(head)):
            created[_unquote(match.group(1))] = _create_columns(head[match.end():])
        elif head[:6].upper() == "INSERT" and (match := _INSERT.match(head)):
            name = _unquote(match.group(1))
            columns = _column_list(match.group(2)) or created.get(name, [])
            yield DumpTable(name, columns, _tuples(head[match.end():], statements.backslashes,
                                                   statements.count))
        elif head[:4].upper() == "COPY" and (match := _COPY.match(head)):
            name = _unquote(match.group(1))
            columns = _column_list(match.group(2)) or created.get(name, [])
            lines = statements.copy_lines()
            yield DumpTable(name, columns, (list(map(_copy_value, line.split("\t")))
                                            for line in lines))


def read_tables(stream, max_statement: int = MAX_STATEMENT) -> Iterator[DumpTable]:
    """As read_dump, with a table's consecutive INSERTs (mysqldump writes one per ~1 MB)
    joined into one DumpTable; rows a caller leaves unread are skipped."""
    pieces = read_dump(stream, max_statement)
    current = next(pieces, None)
    while current is not None:
        following: list[DumpTable] = []

        def rows(first=current, following=following):
            yield from first.rows
            for piece in pieces:
                if piece.name != first.name or piece.columns != first.columns:
                    following.append(piece)
                    return
                yield from piece.rows

        table = DumpTable(current.name, current.columns, rows())
        yield table
        for _ in table.rows:  # whatever the caller left: the next table starts after it
            pass
        current = following[0] if following else None
