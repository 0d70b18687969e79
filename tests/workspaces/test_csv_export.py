"""The one CSV writer: formula starts defused in text, numbers left as numbers."""

import csv
import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workspaces.csv_export import csv_cell, stream_csv, unescape_cell


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("'=quoted already", "''=quoted already"),
        ("Ava Trails", "Ava Trails"),
        ("'Tis", "'Tis"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_it_defuses_text_that_starts_like_a_formula(text, cell):
    assert csv_cell(text) == cell
    assert unescape_cell(cell) == text


def test_it_writes_numbers_dates_and_flags_as_they_are():
    assert csv_cell(Decimal("-12.50")) == "-12.50"
    assert csv_cell(-3) == "-3"
    assert csv_cell(Decimal("0.00")) == "0.00"
    assert csv_cell(None) == ""
    assert csv_cell(True) == "yes" and csv_cell(False) == "no"
    assert csv_cell(datetime.date(2026, 1, 2)) == "2026-01-02"
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert csv_cell(when) == "2026-01-02T03:04:05+00:00"
    # A number that arrives as text is text: only typed values stay numeric.
    assert csv_cell("-12.50") == "'-12.50"


@given(st.text())
def test_unescaping_gives_back_any_text(text):
    assert unescape_cell(csv_cell(text)) == text
    assert not csv_cell(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_it_streams_utf8_with_a_byte_order_mark():
    rows = iter([["Zoë", Decimal("-1.50")], ["=1+1", 2]])
    response = stream_csv("x.csv", ["name", "amount"], rows)
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbfname,amount\r\n")
    assert list(csv.reader(io.StringIO(body.decode("utf-8-sig")))) == [
        ["name", "amount"],
        ["Zoë", "-1.50"],
        ["'=1+1", "2"],
    ]


def test_it_is_the_only_csv_writer():
    root = Path(__file__).resolve().parents[2]
    writers = [
        str(path.relative_to(root))
        for app in ("config", "workspaces", "offers", "tracking", "networks", "payments", "reports")
        for path in (root / app).rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text()) and path.name != "csv_export.py"
    ]
    assert writers == [], "serve CSV through workspaces.csv_export.stream_csv"
