"""Readers for the three bodies ShareASale's reports come in, as they stream in (a report is
never held whole): CSV (quoted commas), pipe, and XML (``iterparse``; the v1.3 short and the
v2.x long element sets).

CRLF line ends, the space ShareASale leaves at the end of the last line, and HTML entities
in names (``wool&amp;``) are undone. Column and element names are folded to one key form
(``Trans ID`` and ``<transid>`` are both ``transid``). The client (networks/shareasale.py)
picks the reader by the body's first bytes.
"""

import codecs
import csv
import html
from collections.abc import Iterator
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from networks.errors import MalformedBody


def chain_chunks(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """The body's chunks again, with the ``first`` bytes the client read ahead to sniff it."""
    if first:
        yield first
    yield from rest


def column_key(name: str) -> str:
    """One key form for CSV headers and XML elements: ``Trans ID`` / ``transid`` -> ``transid``."""
    return "".join(name.split()).lower()


def _clean(value: str | None) -> str:
    """A field as meant: without surrounding blanks (the space ShareASale leaves before the last
    line's CRLF lands in the last field) and with HTML entities undone (``wool&amp;``)."""
    if not value:
        return ""
    value = value.strip()
    return html.unescape(value) if "&" in value else value


def text_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """UTF-8 lines without their CR/LF, decoded incrementally from byte chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        if "\n" not in pending:
            continue
        *lines, pending = pending.split("\n")
        for line in lines:
            yield line[:-1] if line.endswith("\r") else line
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending[:-1] if pending.endswith("\r") else pending


def delimited_rows(lines: Iterator[str]) -> Iterator[dict]:
    """CSV or pipe rows as {column key: value}; the delimiter is read from the header line."""
    lines = (line for line in lines if line.strip())
    header_line = next(lines, None)
    if header_line is None:
        return
    header_line = header_line.lstrip("\ufeff")
    delimiter = "|" if header_line.count("|") > header_line.count(",") else ","
    header = [column_key(h) for h in next(csv.reader([header_line], delimiter=delimiter))]
    width = len(header)
    for number, row in enumerate(csv.reader(lines, delimiter=delimiter), start=2):
        if not row:
            continue
        if len(row) != width:
            raise MalformedBody(f"ShareASale report row {number} has {len(row)} columns; the header has {width}.")
        yield {key: _clean(value) for key, value in zip(header, row, strict=True)}


class _ChunkReader:
    """A read() over byte chunks, for iterparse (which feeds whatever read() returns)."""

    def __init__(self, first: bytes, rest: Iterator[bytes]):
        self.first, self.rest = first, rest

    def read(self, size: int = -1) -> bytes:
        if self.first:
            data, self.first = self.first, b""
            return data
        return next(self.rest, b"")


def xml_rows(first: bytes, rest: Iterator[bytes]) -> Iterator[dict]:
    """The root's children as {element key: text}, each freed once read."""
    depth, root = 0, None
    try:
        for event, element in iterparse(_ChunkReader(first, rest), events=("start", "end")):
            if event == "start":
                depth += 1
                if root is None:
                    root = element
                continue
            depth -= 1
            if depth == 1:
                yield {column_key(child.tag): _clean(child.text) for child in element}
                root.clear()
    except (ParseError, DefusedXmlException) as e:
        raise MalformedBody(f"ShareASale sent XML that cannot be read ({e}).") from None
