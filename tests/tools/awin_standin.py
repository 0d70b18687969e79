"""A local stand-in for the Awin Publisher API, for the benchmark and smoke tests.

It behaves like the real one where our client depends on it: ``Authorization: Bearer``
(401 with a JSON ``description`` otherwise; 403 for a publisher the token does not see),
``GET /accounts``, ``GET /publishers/<id>/transactions/`` by transaction or validation date
(``startDate``/``endDate`` ``yyyy-MM-ddTHH:mm:ss``, at most 31 days apart, ``timezone``
required; dates answered without an offset in UTC) or by ``ids``, a bare JSON array of
transaction objects shaped like the documented ones, streamed as it is generated (100,000
transactions cost no memory), and 20 requests a minute per token (429; with Retry-After
unless ``retry_after_header`` is off). Answers can be injected for the next requests.

Transactions are generated from their index, never stored: transaction i happens at
``start + i * step`` (whole minutes); it is validated 20 days later (every 25th declined,
the others approved; every 40th approved one amended) and paid 15 days after validation.

    python -m tests.tools.awin_standin --port 8107 --transactions 100000 --days 60
"""

import argparse
import json
import math
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from tests.tools import standin_http
from tests.tools.standin_http import StandinHandler

PUBLISHER_ID = "45628"
TOKEN = "standin-awin-token-0123456789abcdef"
VALIDATE_AFTER = timedelta(days=20)
PAY_AFTER = timedelta(days=15)
DECLINE_EVERY = 25
AMEND_EVERY = 40
CHUNK = 64 * 1024
FORMAT = "%Y-%m-%dT%H:%M:%S"


def _fmt(moment: datetime | None):
    return moment.astimezone(UTC).strftime(FORMAT) if moment else None


class Standin:
    """The data and the knobs; one instance per server."""

    def __init__(
        self,
        *,
        transactions: int = 4,
        start: datetime | None = None,
        end: datetime | None = None,
        publisher_id: str = PUBLISHER_ID,
        token: str = TOKEN,
        rate_limit: int = 20,
        retry_after_header: bool = True,
        click_ref_for=None,
    ):
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        self.end = end or now - timedelta(hours=1)
        self.start = start or self.end - timedelta(days=30)
        self.n = transactions
        self.step = (self.end - self.start) / max(transactions, 1)
        self.publisher_id, self.token = publisher_id, token
        self.rate_limit = rate_limit
        self.retry_after_header = retry_after_header
        self.click_ref_for = click_ref_for or (lambda i: f"hubclk{i:026x}")
        self.inject: list[tuple[int, dict, str]] = []  # (status, headers, body) for the next requests
        self.requests: list[str] = []
        self.seen: deque[float] = deque()  # request times in the last minute (rate limit)
        self.lock = threading.Lock()

    def event_at(self, i: int) -> datetime:
        return (self.start + self.step * i).replace(second=0, microsecond=0)

    def transaction(self, i: int) -> dict:
        event = self.event_at(i)
        now = datetime.now(UTC)
        validated = event + VALIDATE_AFTER
        validated = validated if validated <= now else None
        declined = validated is not None and i % DECLINE_EVERY == 0
        amended = validated is not None and not declined and i % AMEND_EVERY == 0
        paid = validated is not None and not declined and validated + PAY_AFTER <= now
        sale = round(20 + (i % 180) + (i % 100) / 100, 2)
        commission = round(sale / 10, 2)
        status = "pending" if validated is None else "declined" if declined else "approved"
        return {
            "id": 300000000 + i,
            "url": "https://creators.example.net",
            "advertiserId": 7052 + i % 3,
            "publisherId": int(self.publisher_id),
            "commissionSharingPublisherId": None,
            "commissionSharingSelectedRatePublisherId": None,
            "campaign": None,
            "siteName": "Stand-in Creators",
            "commissionStatus": status,
            "commissionAmount": {"amount": commission, "currency": "GBP"},
            "saleAmount": {"amount": sale, "currency": "GBP"},
            "ipHash": str(-8103813414857796536 + i),
            "customerCountry": "GB",
            "clickRefs": {"clickRef2": self.click_ref_for(i)},
            "clickDate": _fmt(event - timedelta(minutes=13)),
            "transactionDate": _fmt(event),
            "validationDate": _fmt(validated),
            "type": "Commission group transaction",
            "declineReason": "Order cancelled" if declined else None,
            "voucherCodeUsed": i % 7 == 0,
            "voucherCode": "SPRING10" if i % 7 == 0 else None,
            "lapseTime": 780,
            "amended": amended,
            "amendReason": "Partial return" if amended else None,
            "oldSaleAmount": {"amount": round(sale + 10, 2), "currency": "GBP"} if amended else None,
            "oldCommissionAmount": {"amount": round(commission + 1, 2), "currency": "GBP"} if amended else None,
            "clickDevice": "iPhone",
            "transactionDevice": "iPhone",
            "publisherUrl": None,
            "advertiserCountry": "GB",
            "orderRef": f"ORD{i:08d}",
            "customParameters": [],
            "transactionParts": [
                {
                    "commissionGroupId": 1234,
                    "amount": sale,
                    "commissionAmount": commission,
                    "commissionGroupCode": "DEFAULT",
                    "commissionGroupName": "Default",
                    "advertiserCost": None,
                    "trackedParts": [{"code": "DEFAULT", "amount": sale, "currency": "GBP"}],
                }
            ],
            "paidToPublisher": paid,
            "paymentId": int((validated + PAY_AFTER).strftime("%Y%m")) if paid else 0,
            "transactionQueryId": 0,
            "originalSaleAmount": None,
            "advertiserCost": None,
            "customerAcquisition": None,
        }

    def index_range(self, lo: datetime, hi: datetime, offset=timedelta(0)) -> range:
        """Indexes i with lo <= event_at(i) + offset <= hi (both ends inclusive, as Awin's dates)."""
        step = self.step.total_seconds() or 1
        first = max(0, math.ceil(((lo - offset) - self.start).total_seconds() / step) - 1)
        last = min(self.n, math.floor(((hi - offset) - self.start).total_seconds() / step) + 2)
        return range(first, max(first, last))


class Handler(StandinHandler):
    server_version = "AwinStandin/1.0"

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self.data.lock:
            self.data.requests.append(self.path)
            injected = self.data.inject.pop(0) if self.data.inject else None
            limited = self.limited()
        if injected:
            status, headers, body = injected
            return self.raw(status, body.encode(), "application/json", headers)
        if (self.headers.get("Authorization") or "") != f"Bearer {self.data.token}":
            return self.error(401, "Unauthorized", "The access token is invalid or has been revoked")
        if limited:
            headers = {"Retry-After": str(limited)} if self.data.retry_after_header else {}
            return self.raw(429, b'{"error":"Too Many Requests"}', "application/json", headers)
        path = parts.path.rstrip("/")
        if path == "/accounts":
            return self.accounts()
        prefix = "/publishers/"
        if path.startswith(prefix) and path.endswith("/transactions"):
            publisher = path[len(prefix) : -len("/transactions")]
            if publisher != self.data.publisher_id:
                return self.error(403, "Forbidden", f"No access to publisher {publisher}")
            try:
                return self.transactions(query)
            except (KeyError, ValueError) as e:
                return self.error(400, "Bad Request", str(e))
        return self.error(404, "Not Found", "No such resource")

    def limited(self) -> int:
        """Seconds to wait when this request is over the limit (sliding minute), else 0."""
        if not self.data.rate_limit:
            return 0
        now = time.monotonic()
        seen = self.data.seen
        while seen and seen[0] <= now - 60:
            seen.popleft()
        if len(seen) >= self.data.rate_limit:
            return max(1, math.ceil(seen[0] + 60 - now))
        seen.append(now)
        return 0

    def accounts(self):
        body = {
            "userId": 699645,
            "accounts": [
                {
                    "accountId": int(self.data.publisher_id),
                    "accountName": "Stand-in Creators",
                    "accountType": "publisher",
                    "userRole": "admin",
                },
                {
                    "accountId": 7052,
                    "accountName": "Example Outdoor Co",
                    "accountType": "advertiser",
                    "userRole": "viewer",
                },
            ],
        }
        return self.raw(200, json.dumps(body).encode(), "application/json", {})

    def transactions(self, query: dict):
        data = self.data
        if "ids" in query:
            wanted = [int(x) - 300000000 for x in query["ids"].split(",") if x.strip()]
            return self.stream(data.transaction(i) for i in wanted if 0 <= i < data.n)
        if "timezone" not in query:
            raise ValueError("timezone is mandatory")
        lo = datetime.strptime(query["startDate"], FORMAT).replace(tzinfo=UTC)
        hi = datetime.strptime(query["endDate"], FORMAT).replace(tzinfo=UTC)
        if hi < lo:
            raise ValueError("endDate is before startDate")
        if hi - lo > timedelta(days=31):
            raise ValueError("The maximum date range between startDate and endDate is 31 days")
        date_type = query.get("dateType", "transaction")
        offset = VALIDATE_AFTER if date_type == "validation" else timedelta(0)
        now = datetime.now(UTC)

        def selected():
            for i in data.index_range(lo, hi, offset):
                moment = data.event_at(i) + offset
                if lo <= moment <= hi and (date_type != "validation" or moment <= now):
                    yield data.transaction(i)

        return self.stream(selected())

    # Output ------------------------------------------------------------------------------------
    def stream(self, items):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        buffer, size, first = [b"["], 1, True
        for item in items:
            piece = (b"" if first else b",") + json.dumps(item).encode()
            first = False
            buffer.append(piece)
            size += len(piece)
            if size >= CHUNK:
                self.chunk(b"".join(buffer))
                buffer, size = [], 0
        buffer.append(b"]")
        self.chunk(b"".join(buffer))
        self.wfile.write(b"0\r\n\r\n")

    def chunk(self, data: bytes):
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

    def error(self, status: int, error: str, description: str):
        body = json.dumps({"error": error, "description": description}).encode()
        return self.raw(status, body, "application/json", {})


class StandinServer(standin_http.StandinServer):
    """Runs the stand-in in a thread: ``with StandinServer(transactions=10) as s: s.url``."""

    def __init__(self, port: int = 0, **options):
        super().__init__(Standin(**options), Handler, port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8107)
    parser.add_argument("--transactions", "--rows", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    server = StandinServer(
        port=args.port, transactions=args.transactions, start=end - timedelta(days=args.days), end=end
    )
    print(f"Awin stand-in on {server.url} (publisher id {PUBLISHER_ID}, token {TOKEN})", flush=True)
    server.serve()


if __name__ == "__main__":
    main()
