"""A local stand-in for ShareASale's affiliate API (``x.cfm``), for the benchmark and smoke tests.

It behaves like the real one where our client depends on it: the signed request
(``x-ShareASale-Date`` + ``x-ShareASale-Authentication`` = SHA-256 of
``token:date:action:secret``, upper- or lower-case hex), errors as HTTP 200 bodies
``Invalid Request - Error Code NNNN - <ip>`` (4075 for a bad token or signature), one credit
spent per request (``apitokencount`` tells what is left), CSV / pipe / XML bodies shaped like
the samples (CRLF, a space before the last line's CRLF, quoted commas, ``wool&amp;``), US
Central report times, and the actions activity, voidTrail, edittrail, ledger, paymentSummary.
Bodies are streamed in chunks as they are generated: 100,000 rows cost no memory.

Rows are generated from their index, never stored: sale i happens at ``start + i * step``;
every 50th is voided five days later (voidTrail), every 70th has its amounts edited two
days later (edittrail); a sale locks 30 days after it happens and is paid on the next 20th
after its lock date, where a payment row (merchant 47, "Affiliate Payment") is added.

    python -m tests.tools.shareasale_standin --port 8106 --rows 100000 --days 60

The codes ShareASale uses for an exhausted monthly quota or a missing parameter are not
published; this stand-in answers its own 9999 and 9998 for them.
"""

import argparse
import csv
import hashlib
import hmac
import io
import math
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from tests.tools import standin_http
from tests.tools.standin_http import StandinHandler

AFFILIATE_ID = "1234567"
TOKEN = "STANDINTOKEN0001"
SECRET = "STANDINSECRET000000000000000001"
CENTRAL = ZoneInfo("America/Chicago")
VOID_EVERY = 50
EDIT_EVERY = 70
LOCK_AFTER = timedelta(days=30)
CHUNK = 64 * 1024

ACTIVITY_COLUMNS = [
    "Trans ID",
    "User ID",
    "Merchant ID",
    "Trans Date",
    "Trans Amount",
    "Commission",
    "Comment",
    "Voided",
    "Pending Date",
    "Locked",
    "Aff Comment",
    "Banner Page",
    "Reversal Date",
    "Click Date",
    "Click Time",
    "Banner Id",
    "SKU List",
    "Quantity List",
    "Lock Date",
    "Paid Date",
    "Merchant Organization",
    "Merchant Website",
    "Trans Type",
    "Merchant Defined Type",
    "Store ID",
    "Reference Trans",
]
MERCHANTS = [
    ("90001", "Example Outdoor Co", "example-outdoor.com/"),
    ("90002", "Sample Apparel, Inc", "www.sampleapparel.example"),
    ("90004", "wool&amp;", "additionalclothing.example/"),
]


def sign(token: str, date_header: str, action: str, secret: str) -> str:
    return hashlib.sha256(f"{token}:{date_header}:{action}:{secret}".encode()).hexdigest()


def central(moment: datetime) -> datetime:
    return moment.astimezone(CENTRAL)


def us_datetime(moment: datetime) -> str:
    return central(moment).strftime("%m/%d/%Y %I:%M:%S %p")


def iso_day(moment: datetime) -> str:
    return central(moment).strftime("%Y-%m-%d")


def next_20th(day: date) -> date:
    candidate = day.replace(day=20)
    if candidate <= day:
        candidate = (candidate.replace(day=1) + timedelta(days=32)).replace(day=20)
    return candidate


class Standin:
    """The data and the knobs; one instance per server."""

    def __init__(
        self,
        *,
        rows: int = 5,
        start: datetime | None = None,
        end: datetime | None = None,
        affiliate_id: str = AFFILIATE_ID,
        token: str = TOKEN,
        secret: str = SECRET,
        credits: int = 200,
        click_id_for=None,
    ):
        now = datetime.now(UTC).replace(microsecond=0)
        self.end = end or now - timedelta(hours=1)
        self.start = start or self.end - timedelta(days=30)
        self.n = rows
        self.step = (self.end - self.start) / max(rows, 1)
        self.affiliate_id, self.token, self.secret = affiliate_id, token, secret
        self.credits = credits
        self.click_id_for = click_id_for or (lambda i: f"hubclk{i:010x}")
        self.inject: list[tuple[int, dict, str]] = []  # (status, headers, body) for the next requests
        self.requests: list[str] = []
        self.lock = threading.Lock()

    # Generated rows ------------------------------------------------------------------------
    def event_at(self, i: int) -> datetime:
        return self.start + self.step * i

    def amounts(self, i: int) -> tuple[Decimal, Decimal]:
        sale = Decimal(20 + i % 180) + Decimal(i % 100) / 100
        return sale, (sale / 10).quantize(Decimal("0.01"))

    def index_range(self, lo: datetime, hi: datetime, offset=timedelta(0)) -> range:
        """Indexes i with lo <= event_at(i) + offset < hi."""
        step = self.step.total_seconds() or 1
        first = max(0, math.ceil(((lo - offset) - self.start).total_seconds() / step))
        last = min(self.n, math.ceil(((hi - offset) - self.start).total_seconds() / step))
        return range(first, max(first, last))

    def paid_on(self, i: int) -> date | None:
        lock_day = central(self.event_at(i) + LOCK_AFTER).date()
        pay_day = next_20th(lock_day)
        return pay_day if pay_day <= central(datetime.now(UTC)).date() else None

    def activity_row(self, i: int) -> list[str]:
        event = self.event_at(i)
        now = datetime.now(UTC)
        voided = i % VOID_EVERY == 0 and event + timedelta(days=5) <= now
        locked = event + LOCK_AFTER <= now
        sale, commission = self.amounts(i)
        merchant_id, organization, website = MERCHANTS[i % len(MERCHANTS)]
        paid = self.paid_on(i) if locked and not voided else None
        click = event - timedelta(minutes=3)
        return [
            str(200000000 + i),
            self.affiliate_id,
            merchant_id,
            us_datetime(event),
            str(sale),
            str(commission),
            f"VOIDED Returned Merchandise Sale - {10000 + i}" if voided else f"Sale - {10000 + i}",
            "1" if voided else "",
            "",
            "1" if locked else "",
            self.click_id_for(i),
            "",
            iso_day(event + timedelta(days=5)) + " 00:00:00.0" if voided else "",
            iso_day(click) + " 00:00:00.0",
            central(click).strftime("%I:%M:%S %p"),
            "1300001",
            "",
            "",
            iso_day(event + LOCK_AFTER),
            paid.isoformat() if paid else "",
            organization,
            website,
            "Sale",
            "",
            "5" if merchant_id == "90002" else "",
            "",
        ]

    def payment_days(self, lo: date, hi: date) -> list[date]:
        days, day = [], next_20th(lo - timedelta(days=1))
        today = central(datetime.now(UTC)).date()
        while day <= hi and day <= today:
            if self.payment_total(day):  # no payment on a 20th that pays nothing
                days.append(day)
            day = next_20th(day)
        return days

    def paid_indexes(self, pay_day: date) -> range:
        """Sales paid on pay_day: those whose lock day is in the month before it (from the 20th on)."""
        previous = next_20th(pay_day - timedelta(days=40))
        lo = datetime(previous.year, previous.month, previous.day, tzinfo=CENTRAL).astimezone(UTC) - LOCK_AFTER
        hi = datetime(pay_day.year, pay_day.month, pay_day.day, tzinfo=CENTRAL).astimezone(UTC) - LOCK_AFTER
        return self.index_range(lo, hi)

    def payment_total(self, pay_day: date) -> Decimal:
        return sum((self.amounts(i)[1] for i in self.paid_indexes(pay_day) if i % VOID_EVERY != 0), Decimal("0.00"))

    def payment_row(self, pay_day: date) -> list[str]:
        paid_at = datetime(pay_day.year, pay_day.month, pay_day.day, 2, 15, tzinfo=CENTRAL)
        row = [""] * len(ACTIVITY_COLUMNS)
        row[0] = str(100000000 + pay_day.toordinal() % 10000000)
        row[1], row[2], row[3] = self.affiliate_id, "47", us_datetime(paid_at)
        row[4], row[5] = "0.00", str(-self.payment_total(pay_day))
        row[6] = f"Payment Commissions - ACH Deposit Sent {pay_day:%B} {pay_day.day}"
        row[20], row[21], row[22] = "shareasale.com", "www.shareasale.com", "Affiliate Payment"
        return row


def central_days(query: dict) -> tuple[datetime, datetime]:
    """dateStart/dateEnd (mm/dd/yyyy, Central days, inclusive) as a UTC [lo, hi) range."""
    start = datetime.strptime(query["datestart"], "%m/%d/%Y").replace(tzinfo=CENTRAL)
    end_text = query.get("dateend")
    end = datetime.strptime(end_text, "%m/%d/%Y").replace(tzinfo=CENTRAL) if end_text else datetime.now(CENTRAL)
    return start.astimezone(UTC), (end + timedelta(days=1)).replace(hour=0, minute=0, second=0).astimezone(UTC)


class Handler(StandinHandler):
    server_version = "ShareASaleStandin/1.0"

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        query = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
        with self.data.lock:
            self.data.requests.append(self.path)
            injected = self.data.inject.pop(0) if self.data.inject else None
        if parts.path != "/x.cfm":
            return self.raw(404, b"Not Found", "text/html", {})
        if injected:
            status, headers, body = injected
            return self.raw(status, body.encode(), "text/html;charset=UTF-8", headers)
        action = query.get("action", "")
        if not self.authorised(query, action):
            return self.refuse("4075")
        with self.data.lock:
            if self.data.credits <= 0:
                return self.refuse("9999")
            self.data.credits -= 1
        fmt = "xml" if query.get("format") == "xml" or query.get("xmlformat") == "1" else query.get("format", "pipe")
        try:
            return self.route(action.lower(), query, fmt)
        except (KeyError, ValueError):
            return self.refuse("9998")

    def authorised(self, query: dict, action: str) -> bool:
        date_header = self.headers.get("x-ShareASale-Date") or ""
        given = (self.headers.get("x-ShareASale-Authentication") or "").lower()
        if query.get("affiliateid") != self.data.affiliate_id or query.get("token") != self.data.token:
            return False
        try:
            sent = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return False
        if sent.tzinfo is None or abs((datetime.now(UTC) - sent).total_seconds()) > 600:
            return False
        expected = sign(self.data.token, date_header, action, self.data.secret)
        return hmac.compare_digest(given, expected)

    def refuse(self, code: str):
        body = f"Invalid Request - Error Code {code} - {self.client_address[0]}".encode()
        return self.raw(200, body, "text/html;charset=UTF-8", {})

    def route(self, action: str, query: dict, fmt: str):
        data = self.data
        if action == "apitokencount":
            return self.report(action, ["creditsRemaining"], iter([[str(data.credits)]]), fmt)
        if action == "activity":
            lo, hi = central_days(query)
            rows = (data.activity_row(i) for i in data.index_range(lo, hi))
            payments = (data.payment_row(d) for d in data.payment_days(central(lo).date(), central(hi).date()))
            return self.report(action, ACTIVITY_COLUMNS, _chain(rows, payments), fmt)
        if action == "voidtrail":
            lo, hi = central_days(query)
            every = data.index_range(lo, hi, timedelta(days=5))
            first = -(-every.start // VOID_EVERY) * VOID_EVERY
            header = ["TransID", "VoidDate", "VoidReason", "TransAmount", "Commission", "AffComment"]
            rows = (self.void_row(i) for i in range(first, every.stop, VOID_EVERY))
            return self.report(action, header, rows, fmt)
        if action == "edittrail":
            lo, hi = central_days(query)
            every = data.index_range(lo, hi, timedelta(days=2))
            first = -(-every.start // EDIT_EVERY) * EDIT_EVERY
            header = [
                "TransID",
                "EditDate",
                "OriginalTransAmount",
                "OriginalCommission",
                "NewTransAmount",
                "NewCommission",
                "AffComment",
            ]
            rows = (self.edit_row(i) for i in range(first, every.stop, EDIT_EVERY) if i % VOID_EVERY)
            return self.report(action, header, rows, fmt)
        if action == "ledger":
            lo, hi = central_days(query)
            header = ["ledgerid", "action", "dt", "transid", "transtype", "impact", "afftrack", "comment"]
            header += ["merchantid", "storeid"]
            rows = (self.ledger_payment(d) for d in data.payment_days(central(lo).date(), central(hi).date()))
            return self.report(action, header, rows, fmt)
        if action == "paymentsummary":
            pay_day = datetime.strptime(query["paymentdate"], "%m/%d/%Y").date()
            header = ["Merchant Id", "Merchant", "Website", "Number of Transactions", "Net Sales", "Commissions"]
            return self.report(action, header, iter(self.summary_rows(pay_day)), fmt)
        return self.refuse("9998")

    def void_row(self, i: int) -> list[str]:
        sale, commission = self.data.amounts(i)
        voided_at = central(self.data.event_at(i) + timedelta(days=5)).strftime("%Y-%m-%d %H:%M:%S.000")
        return [str(200000000 + i), voided_at, "Returned Merchandise", str(sale), str(commission), self.click(i)]

    def edit_row(self, i: int) -> list[str]:
        sale, commission = self.data.amounts(i)
        edited_at = central(self.data.event_at(i) + timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S.0")
        new_sale = (sale / 2).quantize(Decimal("0.01"))
        new_commission = (commission / 2).quantize(Decimal("0.01"))
        return [str(200000000 + i), edited_at, str(sale), str(commission), str(new_sale), str(new_commission)] + [
            self.click(i)
        ]

    def click(self, i: int) -> str:
        return self.data.click_id_for(i)

    def ledger_payment(self, pay_day: date) -> list[str]:
        row = self.data.payment_row(pay_day)
        return [f"T-{row[0]}", "Payment", row[3], row[0], "Affiliate Payment", row[5], "", row[6], "47", ""]

    def summary_rows(self, pay_day: date) -> list[list[str]]:
        totals: dict[str, list] = {}
        for i in self.data.paid_indexes(pay_day):
            if i % VOID_EVERY == 0:
                continue
            merchant_id, organization, website = MERCHANTS[i % len(MERCHANTS)]
            sale, commission = self.data.amounts(i)
            entry = totals.setdefault(merchant_id, [organization, website, 0, Decimal(0), Decimal(0)])
            entry[2] += 1
            entry[3] += sale
            entry[4] += commission
        return [[m, o, w, str(n), str(s), str(c)] for m, (o, w, n, s, c) in totals.items()]

    # Output ------------------------------------------------------------------------------------
    def report(self, action: str, header: list[str], rows, fmt: str):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain;charset=UTF-8")
        self.send_header("Content-Disposition", f"filename={action}.{'xml' if fmt == 'xml' else 'csv'}")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pieces = xml_pieces(header, rows) if fmt == "xml" else delimited_pieces(header, rows, fmt)
        buffer, size = [], 0
        for piece in pieces:
            buffer.append(piece)
            size += len(piece)
            if size >= CHUNK:
                self.chunk(b"".join(buffer))
                buffer, size = [], 0
        if buffer:
            self.chunk(b"".join(buffer))
        self.wfile.write(b"0\r\n\r\n")

    def chunk(self, data: bytes):
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")


def _chain(*iterables):
    for iterable in iterables:
        yield from iterable


def delimited_pieces(header: list[str], rows, fmt: str):
    """CSV (quoting fields with commas) or pipe lines, CRLF, the last one ending in " \\r\\n"."""
    delimiter = "," if fmt == "csv" else "|"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")

    def line(values):
        out.seek(0)
        out.truncate()
        writer.writerow(values)
        return out.getvalue()

    previous = line(header)
    for row in rows:
        yield previous.encode()
        previous = line(row)
    yield (previous[:-2] + " \r\n").encode()


def xml_pieces(header: list[str], rows):
    """The v2.x long element set: lower-case column names without spaces."""
    tags = ["".join(h.split()).lower() for h in header]
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n<activitydetailsreport>\n'
    for row in rows:
        fields = "".join(f"<{t}>{escape(v)}</{t}>" for t, v in zip(tags, row, strict=True))
        yield f"  <activitydetailsreportrecord>{fields}</activitydetailsreportrecord>\n".encode()
    yield b"</activitydetailsreport>\n"


class StandinServer(standin_http.StandinServer):
    """Runs the stand-in in a thread: ``with StandinServer(rows=10) as s: s.url``."""

    def __init__(self, port: int = 0, **options):
        super().__init__(Standin(**options), Handler, port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8106)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--credits", type=int, default=200)
    args = parser.parse_args()
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    server = StandinServer(
        port=args.port, rows=args.rows, start=end - timedelta(days=args.days), end=end, credits=args.credits
    )
    print(
        f"ShareASale stand-in on {server.url} (affiliate id {AFFILIATE_ID}, token {TOKEN}, secret {SECRET})",
        flush=True,
    )
    server.serve()


if __name__ == "__main__":
    main()
