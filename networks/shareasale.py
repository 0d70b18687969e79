"""Client for ShareASale's legacy affiliate API (``x.cfm``, version 2.3).

What it takes care of, so a sync can stay about our data:
- the signed request: ``affiliateId``, ``token``, ``version`` and ``action`` in the query
  string, ``x-ShareASale-Date`` (RFC 1123, UTC) and ``x-ShareASale-Authentication`` (upper-case
  SHA-256 hex of ``token:date:action:secret``) as headers;
- the three body formats, read as they stream in (a report is never held whole): CSV,
  pipe and XML (networks/shareasale_readers.py);
- US Central report times (``01/03/2025 12:41:28 PM``, ``2025-02-13 00:00:00.0``) read as
  America/Chicago and returned as aware UTC datetimes;
- errors, which ShareASale sends as HTTP 200 with ``Invalid Request - Error Code NNNN - <ip>``:
  RequestRefused carries the code and a plain reason (AuthRefused for the codes that mean the
  credentials or the calling IP were refused); RateLimited (429 with the Retry-After to
  honour), ServerError (5xx and timeouts, after a bounded, capped backoff with jitter),
  MalformedBody. A refused request is never retried: every call spends a credit;
- the monthly credit quota: CreditBudget lets a connection spend at most a share of the
  credits left per UTC day (counted in the shared cache, across workers) and refuses
  before calling once the day's share is spent (CreditBudgetSpent).
The API token and secret never appear in a message, an exception or a log line (httpx's
request log has the token replaced).
"""

import hashlib
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import formatdate
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings
from django.core.cache import cache

from networks.client import ApiClient
from networks.errors import AuthError, MalformedBody, NetworkError, RateLimited, RequestRejected, ServerError
from networks.impact import backoff_seconds
from networks.records import (
    NetworkChange,
    NetworkPayment,
    NetworkRecord,
    RecordError,
    money,
    to_conversion_data,
)
from networks.shareasale_readers import chain_chunks, delimited_rows, text_lines, xml_rows
from tracking.reported import ReportedItem

__all__ = ["ShareASaleClient", "CreditBudget", "check_credentials", "to_conversion_data"]

log = logging.getLogger(__name__)

API_VERSION = "2.3"
PATH = "/x.cfm"
CENTRAL = ZoneInfo("America/Chicago")
CURRENCY = "USD"  # ShareASale reports and pays affiliates in US dollars
PAYMENT_MERCHANT_ID = "47"  # ShareASale itself: the merchant of "Affiliate Payment" rows
FORMATS = {"csv": "csv", "pipe": "pipe", "xml": "xml"}
ERROR_RE = re.compile(r"Error Code\s*(\d+)(?:\s*-\s*(\S+))?", re.IGNORECASE)
ORDER_RE = re.compile(r"\b(?:Sale|Lead)\s+-\s+(\S.*)$")
MAX_PROBLEMS = 20  # rejected rows described in detail; the rest are only counted

# Codes whose meaning a public source shows. 4002: ShareASale's own WooCommerce plugin
# explains it as the calling IP not being on the account's API IP list (the body's last
# part is that IP). 4075: what ShareASale answered a request signed with a wrong token.
# Every other code is reported by number: their meanings are not published.
REASONS = {
    "4002": (
        "ShareASale only answers API calls from the IP addresses listed on the account, and this "
        "server's address{ip} is not among them. Add it in ShareASale (Tools > Affiliate API), or set "
        'IP matching to "Require IP address match only for version 1.3 and lower".'
    ),
    "4075": (
        "ShareASale refused the API token and secret (error code 4075). Copy both again from "
        "ShareASale (Tools > Affiliate API) and check that they belong to this affiliate id."
    ),
}
AUTH_CODES = frozenset({"4002", "4075"})


class RequestRefused(RequestRejected):
    """ShareASale refused the request: ``Invalid Request - Error Code NNNN`` (HTTP 200), or a 4xx."""

    def __init__(self, message: str, *, code: str = "", ip: str = "", status_code: int = 200):
        super().__init__(message, status_code)
        self.code = code
        self.ip = ip


class AuthRefused(RequestRefused, AuthError):
    """The refusal means the credentials, or the address we call from, are not accepted."""


class CreditBudgetSpent(RateLimited):
    """Today's share of the monthly credits is spent; refused before calling ShareASale."""


# Signing ---------------------------------------------------------------------------------------


def signature(*, token: str, secret: str, action: str, date_header: str) -> str:
    """``x-ShareASale-Authentication``: SHA-256 of ``token:date:action:secret``, upper-case hex."""
    return hashlib.sha256(f"{token}:{date_header}:{action}:{secret}".encode()).hexdigest().upper()


def date_header(now: float | None = None) -> str:
    """``x-ShareASale-Date``: RFC 1123 in GMT, e.g. ``Thu, 14 Apr 2011 22:44:22 GMT``."""
    return formatdate(time.time() if now is None else now, usegmt=True)


def format_date(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def central_date(moment: datetime) -> date:
    """The ShareASale (US Central) calendar day of an aware datetime: report dates are in it."""
    return moment.astimezone(CENTRAL).date()


# Errors in a 200 body ----------------------------------------------------------------------------


def refusal(text: str) -> RequestRefused | None:
    """The typed error for an ``Invalid Request - Error Code NNNN - <ip>`` body, else None."""
    head = text.strip()[:300]
    if not (head.lower().startswith("invalid request") or "error code " in head.lower()):
        return None
    match = ERROR_RE.search(head)
    code = match.group(1) if match else ""
    ip = (match.group(2) or "") if match else ""
    if code in REASONS:
        message = REASONS[code].format(ip=f" ({ip})" if ip else "")
    elif code:
        message = f"ShareASale refused the request (error code {code})."
    else:
        message = f"ShareASale refused the request: {head[:120]}"
    cls = AuthRefused if code in AUTH_CODES else RequestRefused
    return cls(message, code=code, ip=ip)


# Parsing ---------------------------------------------------------------------------------------


def parse_central(value: str, *, what: str) -> datetime | None:
    """A ShareASale report time (US Central) as aware UTC; "" is None.

    Formats seen: ``01/03/2025 12:41:28 PM`` (activity, ledger), ``2025-02-13 13:17:09.207`` and
    ``2025-02-13 00:00:00.0`` (voidTrail, reversal date), ``2025-04-20`` (lock and paid dates),
    ``01/03/2025``. A wall time that happens twice when clocks go back is read as the first
    (daylight) one; one that never happens when clocks go forward is read with the offset
    before the change.
    """
    value = (value or "").strip()
    if not value:
        return None
    try:
        if "/" in value:
            fmt = "%m/%d/%Y %I:%M:%S %p" if " " in value else "%m/%d/%Y"
            naive = datetime.strptime(value, fmt)
        else:
            naive = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"{what} is not a ShareASale date: {value!r}") from None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=CENTRAL).astimezone(UTC)


def is_payment_row(row: dict) -> bool:
    """ "Affiliate Payment" rows (merchant 47) are ShareASale paying us, not conversions.

    The v1.3 field set has no Trans Type: there merchant 47 alone marks them.
    """
    trans_type = row.get("transtype")
    if trans_type:
        return trans_type.lower() == "affiliate payment"
    return row.get("merchantid") == PAYMENT_MERCHANT_ID


def order_ref(comment: str) -> str:
    """The merchant's order or lead number from ``Sale - 15139`` / ``Lead - 49`` comments."""
    match = ORDER_RE.search(comment or "")
    return match.group(1).strip() if match else ""


def activity_item(row: dict, *, currency: str = CURRENCY) -> NetworkRecord | NetworkPayment:
    """One ``activity`` row as a NetworkRecord, or a NetworkPayment for a payment row.

    Status: Voided=1 reversed; else Locked=1 approved; else pending. ``locking_at`` is the
    Lock Date whenever ShareASale gives one (for pending rows it is the date the sale will
    lock). ``Aff Comment`` is our click id (afftrack). A paid row's ``payment_ref`` is its
    Paid Date, the date of the payment row that paid it.
    """
    trans_id = row.get("transid", "")
    if not trans_id:
        raise RecordError("An activity row without a Trans ID.")
    if is_payment_row(row):
        paid = money(row.get("commission"), what=f"Commission of payment {trans_id}")
        when = parse_central(row.get("transdate", ""), what=f"Trans Date of payment {trans_id}")
        if paid is None or when is None:
            raise RecordError(f"Payment row {trans_id} has no amount or date.")
        return NetworkPayment(date=central_date(when), amount=abs(paid), currency=currency, reference=trans_id, raw=row)
    if row.get("voided") == "1":
        status = "reversed"
    elif row.get("locked") == "1":
        status = "approved"
    else:
        status = "pending"
    paid_date = parse_central(row.get("paiddate", ""), what=f"Paid Date of {trans_id}")
    return NetworkRecord(
        external_id=trans_id,
        click_id=row.get("affcomment", ""),
        status=status,
        sale_amount=money(row.get("transamount"), what=f"Trans Amount of {trans_id}"),
        payout=money(row.get("commission"), what=f"Commission of {trans_id}"),
        currency=currency,
        event_at=parse_central(row.get("transdate", ""), what=f"Trans Date of {trans_id}"),
        locking_at=parse_central(row.get("lockdate", ""), what=f"Lock Date of {trans_id}"),
        order_ref=order_ref(row.get("comment", "")),
        # A coupon column, where the report carries one (the postback's couponcode).
        promo_code=(row.get("couponcode") or row.get("coupon") or "").strip(),
        items=sku_items(row, trans_id),
        paid=paid_date is not None,
        payment_ref=central_date(paid_date).isoformat() if paid_date else "",
        raw=row,
    )


def sku_items(row: dict, trans_id: str) -> tuple[ReportedItem, ...]:
    """The order's lines from ``SKU List`` and ``Quantity List`` (comma lists, the same length;
    a missing quantity is 1). ShareASale gives no per-line amounts."""
    skus = [s.strip() for s in (row.get("skulist") or "").split(",")]
    quantities = [q.strip() for q in (row.get("quantitylist") or "").split(",")]
    lines = []
    for index, sku in enumerate(skus):
        if not sku:
            continue
        quantity = quantities[index] if index < len(quantities) and quantities[index] else "1"
        if not quantity.isdigit() or int(quantity) < 1:
            raise RecordError(f"Transaction {trans_id} has the quantity {quantity!r} for SKU {sku[:40]}.")
        lines.append(ReportedItem(sku=sku[:100], quantity=int(quantity)))
    return tuple(lines)


def void_change(row: dict, *, currency: str = CURRENCY) -> NetworkChange:
    """A ``voidTrail`` row: the transaction was voided; its amounts at the time are the old ones."""
    trans_id = row.get("transid", "")
    return NetworkChange(
        external_id=trans_id,
        kind="reversal",
        changed_at=parse_central(row.get("voiddate", ""), what=f"VoidDate of {trans_id}"),
        click_id=row.get("affcomment", ""),
        old_sale_amount=money(row.get("transamount"), what=f"TransAmount of {trans_id}"),
        old_payout=money(row.get("commission"), what=f"Commission of {trans_id}"),
        currency=currency,
        reason=row.get("voidreason", ""),
        raw=row,
    )


def edit_change(row: dict, *, currency: str = CURRENCY) -> NetworkChange:
    """An ``edittrail`` row: new amounts (and the original ones)."""
    trans_id = row.get("transid", "")
    return NetworkChange(
        external_id=trans_id,
        kind="amount",
        changed_at=parse_central(row.get("editdate", ""), what=f"EditDate of {trans_id}"),
        click_id=row.get("affcomment", ""),
        sale_amount=money(row.get("newtransamount"), what=f"NewTransAmount of {trans_id}"),
        payout=money(row.get("newcommission"), what=f"NewCommission of {trans_id}"),
        old_sale_amount=money(row.get("originaltransamount"), what=f"OriginalTransAmount of {trans_id}"),
        old_payout=money(row.get("originalcommission"), what=f"OriginalCommission of {trans_id}"),
        currency=currency,
        raw=row,
    )


class Report:
    """Rows of one report mapped to items; rows that cannot be read are counted, not fatal.

    ``mapper`` turns a row into an item (raising RecordError for a bad row). For the
    activity report, iteration yields the conversions and the payment rows collect in
    ``payments`` as they pass (a handful a year): read it after the loop.
    """

    def __init__(self, rows: Iterator[dict], mapper):
        self.rows, self.mapper = rows, mapper
        self.payments: list[NetworkPayment] = []
        self.rejected = 0
        self.problems: list[str] = []

    def __iter__(self):
        for row in self.rows:
            try:
                item = self.mapper(row)
            except RecordError as e:
                self.rejected += 1
                if len(self.problems) < MAX_PROBLEMS:
                    self.problems.append(str(e))
                log.warning("ShareASale row skipped: %s", e)
                continue
            if isinstance(item, NetworkPayment):
                self.payments.append(item)
            else:
                yield item


# Credits -----------------------------------------------------------------------------------------


class CreditBudget:
    """At most ``share`` of the credits left, per connection and UTC day, across all workers.

    The day's allowance is fixed by the first ``apitokencount`` of the day (the client makes
    that call itself when it has none): floor(credits left x share). Every request counts,
    retries and the count call included, because ShareASale charges requests, not results.
    """

    def __init__(self, connection_key: str, *, share: float | None = None, clock=time.time):
        self.connection_key = connection_key
        self.share = settings.SHAREASALE_DAILY_CREDIT_SHARE if share is None else share
        self.clock = clock

    def _key(self, name: str) -> str:
        day = int(self.clock() // 86400)
        return f"shareasale:credits:{self.connection_key}:{day}:{name}"

    def seconds_to_tomorrow(self) -> int:
        now = self.clock()
        return int((now // 86400 + 1) * 86400 - now) + 1

    def allowance(self) -> int | None:
        return cache.get(self._key("allowance"))

    def used(self) -> int:
        return cache.get(self._key("used")) or 0

    def remaining(self) -> int | None:
        allowance = self.allowance()
        return None if allowance is None else max(0, allowance - self.used())

    def set_allowance(self, credits_left: int) -> int:
        """Fixes today's allowance from the credits left (the first worker to say wins)."""
        cache.add(self._key("allowance"), int(max(0, credits_left) * self.share), timeout=2 * 86400)
        return self.allowance()

    def spend(self, action: str) -> None:
        """Counts one request, or raises CreditBudgetSpent (before calling) when the day's share is gone."""
        allowance = self.allowance()
        key = self._key("used")
        cache.add(key, 0, timeout=2 * 86400)
        try:
            used = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=2 * 86400)
            used = 1
        if allowance is not None and used > allowance:
            wait = self.seconds_to_tomorrow()
            raise CreditBudgetSpent(
                f"Today's share of ShareASale API credits ({allowance}) is spent; the {action} report "
                f"waits until tomorrow (in {wait // 3600} h {wait % 3600 // 60} min).",
                retry_after=wait,
            )


# Client ----------------------------------------------------------------------------------------


class _RedactToken(logging.Filter):
    """httpx logs each request URL at INFO; ShareASale's URL carries the API token."""

    TOKEN_RE = re.compile(r"(token=)[^&\s\"]*", re.IGNORECASE)

    def filter(self, record):
        if isinstance(record.args, tuple) and any("token=" in str(a) for a in record.args):
            record.args = tuple(
                self.TOKEN_RE.sub(r"\1[hidden]", str(a)) if "token=" in str(a) else a for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_RedactToken())


class ShareASaleClient(ApiClient):
    def __init__(
        self,
        *,
        affiliate_id: str,
        api_token: str,
        api_secret: str,
        base_url: str | None = None,
        budget: CreditBudget | None = None,
        fmt: str = "csv",
        currency: str = CURRENCY,
        timeout: float = 60.0,
        retries: int = 2,
        sleep=None,
        clock=time.time,
    ):
        if fmt not in FORMATS:
            raise ValueError(f"Unknown ShareASale format {fmt!r}.")
        self.affiliate_id = affiliate_id
        self._token, self._secret = api_token, api_secret
        self.budget = budget
        self.fmt, self.currency = fmt, currency
        self.retries = retries
        self.sleep = sleep or (lambda seconds: time.sleep(seconds))
        self.clock = clock
        self.requests = 0
        self.last_credits_left: int | None = None
        self.http = httpx.Client(
            base_url=(base_url or settings.SHAREASALE_API_BASE_URL).rstrip("/"),
            headers={"User-Agent": "affiliate-tracking-hub"},
            timeout=timeout,
        )

    def _request(self, action: str, params: dict | None) -> httpx.Response:
        """An open streamed response with status 200 (the caller closes it), after retries."""
        query = {"affiliateId": self.affiliate_id, "token": self._token, "version": API_VERSION, "action": action}
        if action == "apitokencount":
            query["format"] = "csv"
        else:
            # XMLFormat=1 is what older API versions read; format=xml what 2.x reads.
            query.update({"format": self.fmt, "XMLFormat": "1"} if self.fmt == "xml" else {"format": self.fmt})
        query.update({k: v for k, v in (params or {}).items() if v not in (None, "")})
        if self.budget is not None and action != "apitokencount" and self.budget.allowance() is None:
            self.credits_left()  # fixes today's allowance first
        failure: NetworkError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(backoff_seconds(attempt - 1))
            if self.budget is not None:
                self.budget.spend(action)
            stamp = date_header(self.clock())
            headers = {
                "x-ShareASale-Date": stamp,
                "x-ShareASale-Authentication": signature(
                    token=self._token, secret=self._secret, action=action, date_header=stamp
                ),
            }
            try:
                request = self.http.build_request("GET", PATH, params=query, headers=headers)
                response = self.http.send(request, stream=True)
            except httpx.TimeoutException:
                failure = ServerError(f"ShareASale did not answer in time ({action}).")
                continue
            except httpx.TransportError as e:
                failure = ServerError(f"Could not reach ShareASale ({e.__class__.__name__}).")
                continue
            self.requests += 1
            if response.status_code == 200:
                return response
            response.read()
            response.close()
            if response.status_code >= 500:
                failure = ServerError(f"ShareASale answered {response.status_code} for {action}.")
                continue
            self._raise_for_status(response, action)
        raise failure

    def _raise_for_status(self, response: httpx.Response, action: str) -> None:
        code = response.status_code
        if code == 429:
            retry_after = _retry_after(response.headers) or 60
            raise RateLimited(f"ShareASale asked us to slow down (429); try again in {retry_after} s.", retry_after)
        refused = refusal(response.text)
        if refused is not None:
            refused.status_code = code
            raise refused
        raise RequestRefused(
            f"ShareASale refused the {action} request ({code} {response.reason_phrase}).", status_code=code
        )

    def iter_rows(self, action: str, params: dict | None = None) -> Iterator[dict]:
        """A report's rows as {column key: value}, streamed; raises RequestRefused for an error body."""
        response = self._request(action, params)
        try:
            chunks = response.iter_bytes()
            first = b""
            for chunk in chunks:
                first += chunk
                if len(first.lstrip()) >= 64:
                    break
            head = first.lstrip().lstrip(b"\xef\xbb\xbf")
            if head.startswith(b"<"):
                yield from xml_rows(first, chunks)
                return
            refused = refusal(head[:300].decode("utf-8", "replace"))
            if refused is not None:
                raise refused
            yield from delimited_rows(text_lines(chain_chunks(first, chunks)))
        except httpx.TransportError as e:
            raise ServerError(f"ShareASale's {action} answer broke off ({e.__class__.__name__}).") from None
        finally:
            response.close()

    # Actions -----------------------------------------------------------------------------------

    def credits_left(self) -> int:
        """``apitokencount``: the request credits left this month (and today's allowance, if budgeted)."""
        rows = list(self.iter_rows("apitokencount"))
        try:
            credits = int(rows[0]["creditsremaining"])
        except (IndexError, KeyError, ValueError):
            raise MalformedBody("ShareASale's apitokencount answer has no creditsRemaining number.") from None
        self.last_credits_left = credits
        if self.budget is not None:
            self.budget.set_allowance(credits)
        return credits

    def activity(self, date_start: date, date_end: date | None = None, **filters) -> Report:
        """``activity``: conversions by transaction date (US Central days); payment rows in ``.payments``."""
        params = {"dateStart": format_date(date_start), "dateEnd": format_date(date_end) if date_end else None}
        params.update(filters)
        return Report(self.iter_rows("activity", params), lambda row: activity_item(row, currency=self.currency))

    def voids(self, date_start: date, date_end: date | None = None) -> Report:
        """``voidTrail``: transactions voided in the period, as reversal changes."""
        params = {"dateStart": format_date(date_start), "dateEnd": format_date(date_end) if date_end else None}
        return Report(self.iter_rows("voidTrail", params), lambda row: void_change(row, currency=self.currency))

    def edits(self, date_start: date, date_end: date | None = None) -> Report:
        """``edittrail``: amount edits in the period, as amount changes (new and original amounts)."""
        params = {"dateStart": format_date(date_start), "dateEnd": format_date(date_end) if date_end else None}
        return Report(self.iter_rows("edittrail", params), lambda row: edit_change(row, currency=self.currency))

    def ledger_payments(self, date_start: date, date_end: date | None = None) -> Iterator[NetworkPayment]:
        """The ``ledger``'s Payment rows in the period (Central days), as payments.

        ShareASale's date parameters for the ledger are not documented: the usual
        ``dateStart``/``dateEnd`` are sent and the rows are also filtered here, so a server
        that ignores them gives the same answer.
        """
        params = {"dateStart": format_date(date_start), "dateEnd": format_date(date_end) if date_end else None}
        for row in self.iter_rows("ledger", params):
            if (row.get("action") or "").lower() != "payment" and (row.get("transtype") or "").lower() != (
                "affiliate payment"
            ):
                continue
            try:
                when = parse_central(row.get("dt", ""), what="ledger dt")
                amount = money(row.get("impact"), what="ledger impact")
            except RecordError as e:
                log.warning("ShareASale ledger row skipped: %s", e)
                continue
            if when is None or amount is None:
                continue
            day = central_date(when)
            if day < date_start or (date_end and day > date_end):
                continue
            reference = row.get("transid") or row.get("ledgerid", "")
            yield NetworkPayment(date=day, amount=abs(amount), currency=self.currency, reference=reference, raw=row)

    def payment_summary(self, payment_date: date) -> NetworkPayment | None:
        """``paymentSummary`` for one pay date (the 20th, at most 12 months back): what it contained.

        One payment of the summed commissions; ``raw["lines"]`` keeps the per-merchant rows.
        None when the summary is empty.
        """
        lines = list(self.iter_rows("paymentSummary", {"paymentDate": format_date(payment_date)}))
        if not lines:
            return None
        try:
            amounts = [money(line.get("commissions"), what="paymentSummary Commissions") for line in lines]
        except RecordError as e:
            raise MalformedBody(f"ShareASale's payment summary is unreadable: {e}") from None
        return NetworkPayment(
            date=payment_date,
            amount=sum((a for a in amounts if a is not None), Decimal("0.00")),
            currency=self.currency,
            reference=f"paymentSummary {payment_date.isoformat()}",
            raw={"lines": lines},
        )


def _retry_after(headers) -> int | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(1, int(float(value)))
    except ValueError:
        return None


def check_credentials(*, affiliate_id: str, api_token: str, api_secret: str) -> int:
    """The credential check on save: one ``apitokencount`` call, the credits left this month.

    Raises the typed errors above (AuthRefused when the token, secret or calling IP are refused).
    """
    with ShareASaleClient(affiliate_id=affiliate_id, api_token=api_token, api_secret=api_secret, retries=1) as c:
        return c.credits_left()
