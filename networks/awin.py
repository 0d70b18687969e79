"""Client for the Awin Publisher API (where upgraded ShareASale publishers now are).

What it takes care of, so a sync can stay about our data:
- ``Authorization: Bearer <token>`` (a user's token: it opens every account that user sees);
- ``GET /accounts`` (the credential check) and ``GET /publishers/<id>/transactions/`` by
  transaction or validation date, ``timezone=UTC``, in windows of at most 31 days (longer
  ranges are split here), or by id (``?ids=``, a few dozen per request);
- the body, a bare JSON array, read element by element as it streams in (a large window is
  never held whole); JSON numbers become Decimal straight from their text, never float;
- Awin's limit of 20 requests a minute per user, counted in the shared cache across all
  workers over any 60 seconds (which also keeps under a fixed-minute reading of the limit):
  a request waits for a free slot up to ``max_wait`` seconds, else RateLimited says how long;
- errors as classes: AuthError (401), ScopeError (403), both with Awin's ``description``
  when it sends one; RateLimited (429: waits Retry-After, or until the next minute when
  absent, within ``max_wait``, else raises with the seconds to wait); ServerError (5xx and
  timeouts, after a bounded, capped backoff with jitter); MalformedBody; RequestRejected.
Dates come back without an offset in the requested time zone: UTC here. The token never
appears in a message, an exception or a log line.
"""

import codecs
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from django.conf import settings
from django.core.cache import cache

from networks.client import ApiClient
from networks.errors import (
    AuthError,
    MalformedBody,
    NetworkError,
    RateLimited,
    RequestRejected,
    ScopeError,
    ServerError,
    WindowError,
)
from networks.impact import backoff_seconds
from networks.records import NetworkRecord, RecordError, money, to_conversion_data
from tracking.reported import ReportedItem

__all__ = ["AwinClient", "MinuteLimiter", "check_credentials", "split_windows", "to_conversion_data"]

log = logging.getLogger(__name__)

MAX_WINDOW = timedelta(days=31)
REQUESTS_PER_MINUTE = 20
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
DATE_TYPES = ("transaction", "validation")
IDS_PER_REQUEST = 50  # Awin documents no cap on ?ids=; a modest batch stays clear of URL limits
MAX_PROBLEMS = 20
MAX_ELEMENT = 4 * 1024 * 1024  # one transaction larger than this is not Awin's
STATUSES = {"pending": "pending", "approved": "approved", "declined": "reversed", "deleted": "reversed"}
WHITESPACE = re.compile(r"[ \t\n\r]*")


class AccountNotFound(NetworkError):
    """The token works but its user does not see the publisher id (credential check)."""


# Dates and windows -------------------------------------------------------------------------------


def format_datetime(value: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ss`` in UTC (the request also says ``timezone=UTC``)."""
    return value.astimezone(UTC).strftime(DATE_FORMAT)


def parse_datetime(value, *, what: str) -> datetime | None:
    """An Awin date (no offset, in the requested time zone: UTC) as aware UTC; None stays None."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"{what} is not a date: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def split_windows(start: datetime, end: datetime, size: timedelta = MAX_WINDOW) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) as consecutive windows of at most ``size`` (Awin allows 31 days)."""
    if end <= start:
        raise WindowError("The window ends before it starts.")
    if size > MAX_WINDOW:
        raise WindowError("Awin allows windows of at most 31 days.")
    cursor = start
    while cursor < end:
        stop = min(cursor + size, end)
        yield cursor, stop
        cursor = stop


def window_params(start: datetime, end: datetime) -> dict:
    """Query dates for [start, end): Awin's endDate is inclusive, so it is the last second before ``end``."""
    last = max(start, end - timedelta(seconds=1))
    return {"startDate": format_datetime(start), "endDate": format_datetime(last), "timezone": "UTC"}


# Parsing ---------------------------------------------------------------------------------------


def iter_json_array(chunks: Iterable[bytes]) -> Iterator:
    """The elements of a JSON array body, each parsed as soon as its bytes are in.

    Floats are parsed as Decimal from their text. Raises MalformedBody for anything that is
    not one array (an object, a truncated body, trailing text).
    """
    decoder = json.JSONDecoder(parse_float=Decimal)
    text = codecs.getincrementaldecoder("utf-8")()
    buffer, pos, state = "", 0, "start"  # start -> first (value or "]") -> sep ("," or "]") -> value -> ...
    source = iter(chunks)
    finished = False
    while not finished:
        chunk = next(source, None)
        finished = chunk is None
        buffer = buffer[pos:] + (text.decode(b"", final=True) if finished else text.decode(chunk))
        pos = 0
        while True:
            pos = WHITESPACE.match(buffer, pos).end()
            if pos >= len(buffer):
                break
            char = buffer[pos]
            if state == "start":
                if char == "{" and not finished and len(buffer) - pos <= MAX_ELEMENT:
                    break  # an error object instead of the list: read it whole for its description
                if char != "[":
                    raise MalformedBody(_not_a_list(buffer[pos:], finished))
                state, pos = "first", pos + 1
            elif state == "done":
                raise MalformedBody("Awin's answer has text after the list of transactions.")
            elif state in ("first", "sep") and char == "]":
                state, pos = "done", pos + 1
            elif state == "sep":
                if char != ",":
                    raise MalformedBody(f"Awin's list of transactions is broken near {buffer[pos : pos + 40]!r}.")
                state, pos = "value", pos + 1
            else:
                try:
                    element, end = decoder.raw_decode(buffer, pos)
                except json.JSONDecodeError:
                    if finished:
                        raise MalformedBody("Awin's list of transactions is cut off or not JSON.") from None
                    if len(buffer) - pos > MAX_ELEMENT:
                        raise MalformedBody("Awin sent a transaction larger than 4 MB.") from None
                    break  # the element's bytes are not all here yet
                yield element
                state, pos = "sep", end
    if state != "done":
        raise MalformedBody("Awin's answer is not a complete JSON list.")


def _not_a_list(rest: str, finished: bool) -> str:
    if rest.startswith("{") and finished:
        try:
            data = json.loads(rest)
        except ValueError:
            data = {}
        detail = _description(data)
        if detail:
            return f"Awin answered with a message instead of transactions: {detail}"
    return f"Awin's answer is not a JSON list: {rest[:60]!r}"


def _description(data) -> str:
    if not isinstance(data, dict):
        return ""
    return str(data.get("description") or data.get("message") or data.get("error") or "")[:300]


def transaction_record(tx: dict) -> NetworkRecord:
    """One Awin transaction as a NetworkRecord.

    Our click id is ``clickRefs.clickRef2`` (where Awin puts ShareASale's afftrack, and what
    the hub's Awin links carry), else ``clickRef``. A link that also carries
    ``clickref3={affiliate_id}`` gives the member (``member_ref``), as Impact's SubId2 does.
    pending -> pending, approved -> approved, declined/deleted -> reversed. The validation
    date is the locking date; ``paidToPublisher``/``paymentId`` tie it to Awin's payment.
    """
    if not isinstance(tx, dict):
        raise RecordError("An Awin transaction that is not an object.")
    tx_id = tx.get("id")
    if tx_id in (None, ""):
        raise RecordError("An Awin transaction without an id.")
    tx_id = str(tx_id)
    raw_status = str(tx.get("commissionStatus") or "").lower()
    if raw_status not in STATUSES:
        raise RecordError(f"Transaction {tx_id} has an unknown commissionStatus {tx.get('commissionStatus')!r}.")
    refs = tx.get("clickRefs") or {}
    commission = tx.get("commissionAmount") or {}
    sale = tx.get("saleAmount") or {}
    old_commission = tx.get("oldCommissionAmount") or {}
    old_sale = tx.get("oldSaleAmount") or {}
    payment_id = tx.get("paymentId")
    return NetworkRecord(
        external_id=tx_id,
        click_id=str(refs.get("clickRef2") or refs.get("clickRef") or ""),
        member_ref=str(refs.get("clickRef3") or ""),
        status=STATUSES[raw_status],
        sale_amount=money(sale.get("amount"), what=f"saleAmount of {tx_id}"),
        payout=money(commission.get("amount"), what=f"commissionAmount of {tx_id}"),
        currency=str(commission.get("currency") or sale.get("currency") or "").upper(),
        event_at=parse_datetime(tx.get("transactionDate"), what=f"transactionDate of {tx_id}"),
        locking_at=parse_datetime(tx.get("validationDate"), what=f"validationDate of {tx_id}"),
        order_ref=str(tx.get("orderRef") or ""),
        promo_code=str(tx.get("voucherCode") or ""),
        items=transaction_parts(tx, tx_id),
        paid=bool(tx.get("paidToPublisher")),
        payment_ref=str(payment_id) if payment_id not in (None, "", 0, "0") else "",
        amended=bool(tx.get("amended")),
        old_sale_amount=money(old_sale.get("amount"), what=f"oldSaleAmount of {tx_id}"),
        old_payout=money(old_commission.get("amount"), what=f"oldCommissionAmount of {tx_id}"),
        raw=tx,
    )


def transaction_parts(tx: dict, tx_id: str) -> tuple[ReportedItem, ...]:
    """Awin's ``transactionParts``: one line per commission group (its code is the category
    payout rules match; its name is the line's name), with the part's sale and commission."""
    parts = tx.get("transactionParts") or []
    if not isinstance(parts, list):
        raise RecordError(f"Transaction {tx_id} has transactionParts that are not a list.")
    lines = []
    for part in parts:
        if not isinstance(part, dict):
            raise RecordError(f"Transaction {tx_id} has a transactionPart that is not an object.")
        lines.append(
            ReportedItem(
                sku=str(part.get("commissionGroupId") or "")[:100],
                name=str(part.get("commissionGroupName") or "")[:255],
                category=str(part.get("commissionGroupCode") or "")[:100],
                sale_amount=money(part.get("amount"), what=f"transactionParts amount of {tx_id}"),
                network_payout=money(part.get("commissionAmount"), what=f"transactionParts commission of {tx_id}"),
            )
        )
    return tuple(lines)


# Rate limit ------------------------------------------------------------------------------------


class MinuteLimiter:
    """At most ``limit`` requests in any 60 seconds per token, across workers.

    Counted in the shared cache in 5-second buckets; the last 13 buckets (60 to 65 seconds)
    are summed, so the count is never lower than a true sliding minute's. A 429 blocks the
    token for everyone until its Retry-After.
    """

    BUCKET = 5
    WINDOW = 60

    def __init__(self, token: str, *, limit: int = REQUESTS_PER_MINUTE, clock=time.time):
        self.key = "awin:rate:" + hashlib.sha256(token.encode()).hexdigest()[:20]
        self.limit = limit
        self.clock = clock

    def _bucket_key(self, bucket: int) -> str:
        return f"{self.key}:{bucket}"

    def try_acquire(self) -> float:
        """Takes a slot and returns 0, or returns the seconds until one may be free."""
        now = self.clock()
        blocked_until = cache.get(self.key + ":block")
        if blocked_until and blocked_until > now:
            return blocked_until - now
        current = int(now // self.BUCKET)
        buckets = range(current - self.WINDOW // self.BUCKET, current + 1)
        key = self._bucket_key(current)
        cache.add(key, 0, timeout=self.WINDOW + 2 * self.BUCKET)
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=self.WINDOW + 2 * self.BUCKET)
        counts = cache.get_many([self._bucket_key(b) for b in buckets])
        if sum(counts.values()) <= self.limit:
            return 0
        try:
            cache.decr(key)  # give the slot back: this request does not go out now
        except ValueError:
            pass
        oldest = min((b for b in buckets if counts.get(self._bucket_key(b))), default=current)
        return max(0.5, (oldest + 1) * self.BUCKET + self.WINDOW - now)

    def block(self, seconds: float) -> None:
        cache.set(self.key + ":block", self.clock() + seconds, timeout=int(seconds) + 5)


# Client ----------------------------------------------------------------------------------------


class AwinClient(ApiClient):
    def __init__(
        self,
        *,
        token: str,
        publisher_id: str = "",
        base_url: str | None = None,
        timeout: float = 60.0,
        retries: int = 2,
        max_wait: float = 65.0,
        sleep=None,
        clock=time.time,
    ):
        self.publisher_id = str(publisher_id)
        self.retries = retries
        self.max_wait = max_wait
        self.sleep = sleep or (lambda seconds: time.sleep(seconds))
        self.clock = clock
        self.requests = 0
        self.rejected = 0  # transactions that could not be read (skipped, described in ``problems``)
        self.problems: list[str] = []
        self.limiter = MinuteLimiter(token, clock=clock)
        self.http = httpx.Client(
            base_url=(base_url or settings.AWIN_API_BASE_URL).rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "affiliate-tracking-hub",
            },
            timeout=timeout,
        )

    def _slot(self) -> None:
        """Waits for a free request slot (at most ``max_wait`` in all), else RateLimited."""
        waited = 0.0
        for _ in range(10):
            wait = self.limiter.try_acquire()
            if not wait:
                return
            if waited + wait > self.max_wait:
                break
            self.sleep(wait)
            waited += wait
        retry_after = max(1, math.ceil(wait))
        raise RateLimited(
            f"Awin allows {REQUESTS_PER_MINUTE} requests a minute for this token; try again in {retry_after} s.",
            retry_after,
        )

    def _request(self, path: str, params: dict | None = None) -> httpx.Response:
        """An open streamed 200 response (the caller closes it), after bounded retries."""
        failure: NetworkError | None = None
        for attempt in range(self.retries + 1):
            self._slot()
            try:
                response = self.http.send(self.http.build_request("GET", path, params=params), stream=True)
            except httpx.TimeoutException:
                failure = ServerError("Awin did not answer in time.")
            except httpx.TransportError as e:
                failure = ServerError(f"Could not reach Awin ({e.__class__.__name__}).")
            else:
                self.requests += 1
                if response.status_code == 200:
                    return response
                response.read()
                response.close()
                if response.status_code == 429:
                    wait = self._retry_after(response.headers)
                    self.limiter.block(wait)
                    if attempt < self.retries and wait <= self.max_wait:
                        self.sleep(wait)
                        continue
                    raise RateLimited(f"Awin asked us to slow down (429); try again in {wait} s.", wait)
                if response.status_code < 500:
                    self._raise_for_status(response)
                failure = ServerError(f"Awin answered {response.status_code}.")
            if attempt < self.retries:
                self.sleep(backoff_seconds(attempt))
        raise failure

    def _retry_after(self, headers) -> int:
        """Retry-After in seconds; without it, the seconds to the next full minute."""
        value = headers.get("Retry-After")
        try:
            if value is not None:
                return max(1, math.ceil(float(value)))
        except ValueError:
            pass
        now = self.clock()
        return max(1, math.ceil(60 - now % 60))

    def _raise_for_status(self, response: httpx.Response) -> None:
        code = response.status_code
        try:
            detail = _description(response.json())
        except ValueError:
            detail = ""
        said = f": {detail}" if detail else ""
        if code == 401:
            raise AuthError(
                f"Awin refused this API token (401){said}. Create a new token in Awin (your user menu > "
                "API Credentials) and paste it again; a revoked token stops every integration at once."
            )
        if code == 403:
            raise ScopeError(
                f"Awin refused access (403){said}. The token's user needs at least viewer rights on "
                f"publisher account {self.publisher_id or '(none given)'}; access changes take up to 10 minutes."
            )
        raise RequestRejected(f"Awin refused the request ({code}){said}.", code)

    # Endpoints ---------------------------------------------------------------------------------

    def accounts(self) -> dict:
        """``GET /accounts``: {"userId", "accounts": [{"accountId", "accountName", "accountType", "userRole"}]}."""
        response = self._request("/accounts")
        try:
            data = json.loads(response.read())
        except ValueError:
            raise MalformedBody("Awin's /accounts answer is not JSON.") from None
        finally:
            response.close()
        if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
            raise MalformedBody("Awin's /accounts answer has no list of accounts.")
        return data

    def _stream_records(self, path: str, params: dict) -> Iterator[NetworkRecord]:
        response = self._request(path, params)
        try:
            for element in iter_json_array(response.iter_bytes()):
                try:
                    record = transaction_record(element)
                except RecordError as e:
                    self.rejected += 1
                    if len(self.problems) < MAX_PROBLEMS:
                        self.problems.append(str(e))
                    log.warning("Awin transaction skipped: %s", e)
                    continue
                yield record
        except httpx.TransportError as e:
            raise ServerError(f"Awin's answer broke off ({e.__class__.__name__}).") from None
        finally:
            response.close()

    def _transactions_path(self) -> str:
        if not self.publisher_id:
            raise ValueError("A publisher id is needed to read transactions.")
        return f"/publishers/{self.publisher_id}/transactions/"

    def iter_transactions(
        self,
        *,
        start: datetime,
        end: datetime,
        date_type: str = "transaction",
        status: str | None = None,
        advertiser_ids: Iterable[int] | None = None,
    ) -> Iterator[NetworkRecord]:
        """Transactions whose ``date_type`` date is in [start, end), one request per 31-day window."""
        if date_type not in DATE_TYPES:
            raise ValueError(f"dateType must be one of {', '.join(DATE_TYPES)}.")
        path = self._transactions_path()
        for window_start, window_end in split_windows(start, end):
            params = {**window_params(window_start, window_end), "dateType": date_type}
            if status:
                params["status"] = status
            if advertiser_ids:
                params["advertiserId"] = ",".join(str(a) for a in advertiser_ids)
            yield from self._stream_records(path, params)

    def transactions_by_id(self, ids: Iterable) -> Iterator[NetworkRecord]:
        """``?ids=``: the named transactions (unknown ids are simply missing from the answer)."""
        path = self._transactions_path()
        batch: list[str] = []
        for tx_id in ids:
            batch.append(str(tx_id))
            if len(batch) == IDS_PER_REQUEST:
                yield from self._stream_records(path, {"ids": ",".join(batch), "timezone": "UTC"})
                batch = []
        if batch:
            yield from self._stream_records(path, {"ids": ",".join(batch), "timezone": "UTC"})


def check_credentials(*, publisher_id: str, token: str) -> dict:
    """The credential check on save: ``GET /accounts``, and the publisher id must be among them.

    Returns the publisher's account entry; raises AuthError / ScopeError / AccountNotFound
    (listing the publisher accounts the token does see) or the other errors above.
    """
    with AwinClient(token=token, publisher_id=publisher_id, retries=1, max_wait=5) as client:
        data = client.accounts()
    for account in data["accounts"]:
        if isinstance(account, dict) and str(account.get("accountId")) == str(publisher_id):
            return account
    visible = [
        f"{a.get('accountId')} ({a.get('accountName') or 'no name'})"
        for a in data["accounts"]
        if isinstance(a, dict) and str(a.get("accountType", "publisher")).lower() == "publisher"
    ]
    seen = ", ".join(visible[:10]) if visible else "none"
    raise AccountNotFound(
        f"This token's user cannot see Awin publisher account {publisher_id}. Publisher accounts it sees: {seen}."
    )
