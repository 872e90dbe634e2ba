"""The records of one JSON document on many lines, without holding the document.

A pretty-printed array (`[ {...}, {...} ]`) gives its items one at a time; a FHIR Bundle
(`{"resourceType": "Bundle", ..., "entry": [...]}`) gives its entries one at a time, its
other members (small) kept; any other object is one record. Each value is decoded by
`json.JSONDecoder.raw_decode` over a text buffer refilled by chunks, so memory holds one
record (at most `limit` characters) and a chunk, whatever the document's size; the standard
library's decoder keeps every rule of JSON (no dependency, no hand-written grammar but the
punctuation between values).
"""

import json
from collections.abc import Iterator

CHUNK = 64 * 1024
_WHITESPACE = " \t\n\r"


class BadJson(ValueError):
    pass


class TooBig(ValueError):
    pass


class _Buffer:
    def __init__(self, stream, head: str, limit: int):
        self.stream = stream
        self.text = head
        self.pos = 0
        self.limit = limit
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _fill(self, wanted: int) -> None:
        if self.pos > CHUNK:
            self.text = self.text[self.pos:]
            self.pos = 0
        data = self.stream.read(max(wanted, CHUNK))
        if not data:
            self.eof = True
        self.text += data

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text) or self.eof:
                return self.text[self.pos:self.pos + 1]
            self._fill(CHUNK)

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            raise BadJson(f"expected one of {chars!r}")
        self.pos += 1
        return char

    def value(self):
        """The next JSON value; the buffer grows (doubling) until the value is whole."""
        self.peek()
        wanted = CHUNK
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError:
                if self.eof:
                    raise BadJson("unreadable value") from None
                end = None
            # A value that reaches the buffer's end may go on (a number, or a cut string).
            if end is not None and (end < len(self.text) or self.eof):
                self.pos = end
                return value
            if len(self.text) - self.pos > self.limit:
                raise TooBig("one record exceeds the limit")
            self._fill(wanted)
            wanted *= 2


def _array(buffer: _Buffer) -> Iterator:
    """The items of the array whose "[" was just read."""
    if buffer.peek() == "]":
        buffer.pos += 1
        return
    while True:
        yield buffer.value()
        if buffer.expect(",]") == "]":
            return


def records(stream, head: str, limit: int) -> Iterator[tuple[str, object]]:
    """("array", item) for each item of an array; ("bundle", entry) for each entry of a
    Bundle; ("object", the object) for any other object. BadJson, TooBig on error."""
    buffer = _Buffer(stream, head, limit)
    opening = buffer.expect("[{")
    if opening == "[":
        for item in _array(buffer):
            yield "array", item
    else:
        yield from _object(buffer)
    if buffer.peek():
        raise BadJson("text after the document")


def _object(buffer: _Buffer) -> Iterator[tuple[str, object]]:
    members: dict = {}
    held: list = []  # entries met before "resourceType" said whether this is a Bundle
    streamed = False
    if buffer.peek() == "}":
        buffer.pos += 1
    else:
        while True:
            if buffer.peek() != '"':
                raise BadJson("expected a member name")
            key = buffer.value()
            buffer.expect(":")
            bundle = members.get("resourceType") == "Bundle"
            if key == "entry" and buffer.peek() == "[":
                buffer.pos += 1
                for entry in _array(buffer):
                    if bundle:
                        streamed = True
                        yield "bundle", entry
                    else:
                        held.append(entry)
                members[key] = held
            else:
                members[key] = buffer.value()
            if buffer.expect(",}") == "}":
                break
    if members.get("resourceType") == "Bundle":
        for entry in held if not streamed else ():
            yield "bundle", entry
    else:
        yield "object", members
