"""The one way to serve a CSV download: streamed, UTF-8 with a byte-order mark, formula-safe.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some a tab or
carriage return) as a formula, so a member named ``=HYPERLINK(...)`` would become a live
link in finance's ledger export. Text cells that start so get a leading single quote
(OWASP's "CSV injection" advice); numbers are written from their Decimal or int value and
stay numbers, so ``-12.50`` is still ``-12.50``.

The byte-order mark makes Excel read the file as UTF-8 (creators' names are often not
ASCII); LibreOffice, Google Sheets and Python's ``utf-8-sig`` codec skip it.
"""

import csv
import datetime
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.http import StreamingHttpResponse

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A cell the export escaped: one added quote before any quotes the text itself began with and
# then a formula character. Escaping text that already starts with quotes + a formula character
# too keeps the pair exact: unescape_cell(csv_cell(s)) == s for every string.
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")


def csv_cell(value) -> str:
    """One cell's text: numbers and dates as they are, text with formula starts defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime.date):  # datetime too
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS) or _ESCAPED.match(text):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    """The text ``csv_cell`` was given: drops the quote it added to a formula-like cell."""
    return text[1:] if _ESCAPED.match(text) else text


class _Echo:
    """A file-like object that hands back what csv.writer writes, so rows can be streamed."""

    def write(self, value):
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text, line by line: the BOM and header first, every cell through ``csv_cell``."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


def csv_bytes(header: list[str], rows: Iterable[Iterable]) -> bytes:
    """The same CSV as one UTF-8 value (an email attachment)."""
    return "".join(csv_lines(header, rows)).encode("utf-8")


def stream_csv(filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A CSV download written row by row as ``rows`` yields (nothing is held in memory)."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
