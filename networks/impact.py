"""Client for the impact.com partner ("Mediapartners") API.

What it takes care of, so services can stay about our data:
- HTTP Basic auth (Account SID + Auth Token) and ``Accept: application/json``; bodies
  are parsed from JSON *or* XML (Impact's default) into the same records: plain dicts of
  strings, with Impact's ``""`` for a missing value turned into ``None``;
- the ``@``-paging envelope, followed through ``@nextpageuri`` one page at a time
  (generators: a whole data set is never held in memory);
- the Actions rules, checked before calling: windows of at most 45 days, not older
  than 3 years, an explicit PageSize of at least 2,000;
- the partner rate limits per connection across workers: a counter in the shared
  cache per connection, limit group and clock hour, and a "blocked until" per
  connection and group, set by a 429's Retry-After (or by Impact's own
  ``X-RateLimit-Remaining-hour``/``RateLimit-Reset`` headers) and honoured by every
  worker before it calls. Actions, ActionUpdates and ``Actions/{Id}`` are one group
  (the partner "performance detail" limit, 500 an hour);
- errors as classes: AuthError (401), ScopeError (403), RateLimited (429, with the
  Retry-After to honour), ServerError (5xx and timeouts, after capped exponential
  backoff with jitter; a client gives up for good after ``max_server_failures`` in a
  row), MalformedBody, RequestRejected (any other 4xx).
The Auth Token never appears in a message, a log line or an exception.
"""

import csv
import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from django.conf import settings
from django.core.cache import cache
from django.utils.dateparse import parse_datetime

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

ACCOUNT_SID_RE = re.compile(r"^IR[A-Za-z0-9]{32}$")
PAGE_SIZE = 2000  # Impact's smallest legal explicit PageSize; small pages keep memory flat.
MAX_PAGES = 10  # Impact refuses a listing of more than 10 pages: narrow the window instead.
MAX_WINDOW = timedelta(days=45)
MAX_AGE = timedelta(days=3 * 365)
# Partner limit groups: "performance detail" (Actions, ActionUpdates, Actions/{Id}, Clicks), the
# ClickExport requests (10 a day; counted per hour here, the daily cap is kept by the click sync) and the rest.
HOURLY_LIMITS = {"performance": 500, "click_export": 10, "other": 1000}
PERFORMANCE_RESOURCES = ("Actions", "ActionUpdates", "Clicks")
CLICK_EXPORTS_PER_DAY = 10
BACKOFF_BASE = 1.0
BACKOFF_CAP = 20.0

DATE_FILTERS = {
    "updated": ("StartDate", "EndDate"),
    "locking": ("LockingDateStart", "LockingDateEnd"),
    "event": ("ActionDateStart", "ActionDateEnd"),
}


@dataclass
class Page:
    number: int
    numpages: int
    total: int
    records: list[dict]
    next_uri: str | None


# Parsing ---------------------------------------------------------------------------------------


def _clean(value):
    """Impact sends scalars as strings and missing values as "": make "" None, keep the rest."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        # An older API version sent JSON numbers: keep the record shape (strings) either way.
        return str(value)
    return value


def _element_value(el: Element):
    children = list(el)
    if not children:
        return (el.text or "").strip() or None
    tags = {c.tag for c in children}
    if len(children) > 1 and len(tags) == 1:
        # <ShippingRegions><ShippingRegion>US</ShippingRegion>...</ShippingRegions>
        return [_element_value(c) for c in children]
    return {c.tag: _element_value(c) for c in children}


def _xml_to_data(body: bytes) -> dict:
    try:
        root = parse_xml(body)
    except (ParseError, DefusedXmlException) as e:
        raise MalformedBody(f"Impact sent XML that cannot be read ({e}).") from None
    if root.tag != "ImpactRadiusResponse":
        raise MalformedBody(f"Impact sent XML with an unexpected root element <{root.tag}>.")
    children = list(root)
    for child in children:
        if "numpages" in child.attrib or "page" in child.attrib:
            data = {"@" + k: v for k, v in child.attrib.items()}
            data[child.tag] = [{c.tag: _element_value(c) for c in rec} for rec in child]
            return data
    if len(children) == 1 and len(children[0]):
        return {c.tag: _element_value(c) for c in children[0]}
    return {c.tag: _element_value(c) for c in children}


def parse_body(content: bytes, content_type: str = "") -> dict:
    """Parse an Impact body, JSON or XML, into one dict (still with Impact's strings)."""
    head = content.lstrip()[:1]
    if "json" in content_type or head in (b"{", b"["):
        try:
            data = json.loads(content)
        except (ValueError, UnicodeDecodeError) as e:
            raise MalformedBody(f"Impact sent JSON that cannot be read ({e}).") from None
        if not isinstance(data, dict):
            raise MalformedBody("Impact sent JSON that is not an object.")
        return data
    if "xml" in content_type or head == b"<":
        return _xml_to_data(content)
    snippet = content[:80].decode("utf-8", "replace")
    raise MalformedBody(f"Impact sent a body that is neither JSON nor XML: {snippet!r}")


def error_message(content: bytes, content_type: str = "") -> str:
    """Impact's own error wording ({"Status":"ERROR","Message":...,"Errors":[...]}), if any."""
    try:
        data = parse_body(content, content_type)
    except MalformedBody:
        return ""
    message = str(data.get("Message") or "")
    errors = data.get("Errors")
    if isinstance(errors, dict):
        errors = errors.get("Error", [])
        errors = errors if isinstance(errors, list) else [errors]
    details = []
    for err in errors or []:
        if isinstance(err, dict) and err.get("Message"):
            details.append(f"{err.get('Field') or ''}: {err['Message']}".strip(": "))
    return "; ".join([message, *details]) if details else message


def make_page(data: dict, key: str) -> Page:
    if key not in data:
        raise MalformedBody(f"Impact's answer has no '{key}' list (keys: {', '.join(list(data)[:8])}).")
    records = data[key] or []
    if isinstance(records, dict):  # XML with a single record
        records = [records]
    if not isinstance(records, list):
        raise MalformedBody(f"Impact's '{key}' is not a list.")
    try:
        number = int(data.get("@page") or 1)
        numpages = int(data.get("@numpages") or 1)
        total = int(data.get("@total") or len(records))
    except (TypeError, ValueError):
        raise MalformedBody("Impact's paging envelope (@page/@numpages/@total) is not numeric.") from None
    next_uri = data.get("@nextpageuri") or None
    return Page(number, numpages, total, [_clean(r) if isinstance(r, dict) else r for r in records], next_uri)


def parse_decimal(value, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise MalformedBody(f"{field} is not a number: {value!r}") from None
    if not result.is_finite():
        raise MalformedBody(f"{field} is not a finite number: {value!r}")
    return result


def parse_datetime_value(value, field: str) -> datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise MalformedBody(f"{field} is not a date and time: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def format_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_window(start: datetime, end: datetime, *, now: datetime | None = None) -> None:
    """Impact's Actions/ActionUpdates window rules, enforced before calling."""
    now = now or datetime.now(UTC)
    if end <= start:
        raise WindowError("The window ends before it starts.")
    if end - start > MAX_WINDOW:
        raise WindowError("Impact allows windows of at most 45 days.")
    if start < now - MAX_AGE:
        raise WindowError("Impact keeps no actions older than 3 years.")


def split_windows(start: datetime, end: datetime, size: timedelta = MAX_WINDOW) -> Iterator[tuple[datetime, datetime]]:
    cursor = start
    while cursor < end:
        stop = min(cursor + size, end)
        yield cursor, stop
        cursor = stop


def backoff_seconds(attempt: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Capped exponential backoff with jitter: between half and all of min(cap, base * 2^attempt)."""
    ceiling = min(cap, base * (2**attempt))
    return ceiling / 2 + random.random() * ceiling / 2  # noqa: S311 - jitter, not a secret


def endpoint_group(path: str) -> str:
    resource = path.split("?")[0].rstrip("/").split("/")
    # /Mediapartners/<SID>/<Resource>/...
    name = resource[3] if len(resource) > 3 else ""
    if name in PERFORMANCE_RESOURCES:
        return "performance"
    return "click_export" if name == "ClickExport" else "other"


def endpoint_name(path: str) -> str:
    parts = path.split("?")[0].strip("/").split("/")
    return "/" + "/".join(p for p in parts[2:3]) if len(parts) > 2 else path


# Rate limits -----------------------------------------------------------------------------------


class HourlyLimiter:
    """Partner hourly limits per connection and limit group, shared through the cache (Redis).

    Two layers: our own counter per clock hour (so several workers together stay under the
    limit), and a "blocked until" time: set by a 429's Retry-After, or from Impact's headers
    when they say nothing remains this hour. No client of the connection calls an endpoint
    of a blocked group before that time.
    """

    def __init__(self, connection_key: str, limits: dict | None = None):
        self.connection_key = connection_key
        self.limits = limits or HOURLY_LIMITS

    def _block_key(self, group):
        return f"impact:block:{self.connection_key}:{group}"

    def acquire(self, group: str) -> None:
        now = time.time()
        wait = self.blocked_for(group, now=now)
        if wait:
            raise RateLimited(f"Impact asked us to wait (rate limit); {wait} s left.", retry_after=wait)
        hour = int(now // 3600)
        key = f"impact:count:{self.connection_key}:{group}:{hour}"
        cache.add(key, 0, timeout=3700)
        try:
            used = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=3700)
            used = 1
        if used > self.limits.get(group, 1000):
            retry_after = int((hour + 1) * 3600 - now) + 1
            raise RateLimited(
                f"Reached the partner limit of {self.limits[group]} requests per hour; waiting {retry_after} s.",
                retry_after=retry_after,
            )

    def blocked_for(self, group: str, *, now: float | None = None) -> int:
        """Whole seconds until the group may be called again (0: now)."""
        now = time.time() if now is None else now
        blocked_until = cache.get(self._block_key(group))
        return int(blocked_until - now) + 1 if blocked_until and blocked_until > now else 0

    def block(self, group: str, seconds: int) -> None:
        """No call to this group before ``seconds`` from now (the later of two blocks wins)."""
        until = time.time() + seconds
        current = cache.get(self._block_key(group)) or 0
        if until > current:
            cache.set(self._block_key(group), until, timeout=int(seconds) + 5)

    def observe(self, group: str, headers) -> None:
        remaining = headers.get("X-RateLimit-Remaining-hour", headers.get("X-RateLimit-Remaining"))
        reset = headers.get("RateLimit-Reset")
        if remaining is None or reset is None:
            return
        try:
            remaining, reset = int(remaining), int(reset)
        except ValueError:
            return
        if remaining <= 0 and reset > 0:
            self.block(group, reset)


# Client ----------------------------------------------------------------------------------------


class ImpactClient(ApiClient):
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        connection_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        retries: int = 2,
        sleep=None,
        max_server_failures: int | None = None,
    ):
        self.account_sid = account_sid
        self.base_url = (base_url or settings.IMPACT_API_BASE_URL).rstrip("/")
        self.retries = retries
        self.sleep = sleep or (lambda seconds: time.sleep(seconds))
        self.requests = 0
        # 5xx answers and timeouts in a row (a success resets it); at max_server_failures the
        # client stops retrying. A sync run carries the count over from its earlier tasks.
        self.server_failures = 0
        self.max_server_failures = max_server_failures
        self.limiter = HourlyLimiter(connection_key or account_sid)
        self.http = httpx.Client(
            base_url=self.base_url,
            auth=httpx.BasicAuth(account_sid, auth_token),
            headers={"Accept": "application/json", "User-Agent": "affiliate-tracking-hub"},
            timeout=timeout,
        )

    def path(self, resource: str) -> str:
        return f"/Mediapartners/{self.account_sid}/{resource}"

    # One request with the error classes and in-process retries for 5xx/timeouts.
    def request(self, path: str, *, params=None, follow_redirects=False) -> httpx.Response:
        group = endpoint_group(path)
        failure: NetworkError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(backoff_seconds(attempt - 1))
            self.limiter.acquire(group)
            try:
                response = self.http.get(path, params=params, follow_redirects=follow_redirects)
            except httpx.TimeoutException:
                failure = self._server_failure(f"Impact did not answer in time ({endpoint_name(path)}).")
                continue
            except httpx.TransportError as e:
                failure = self._server_failure(f"Could not reach Impact ({e.__class__.__name__}).")
                continue
            self.requests += 1
            self.limiter.observe(group, response.headers)
            self.raise_for_status(response, path)
            if response.status_code >= 500:
                failure = self._server_failure(f"Impact answered {response.status_code} for {endpoint_name(path)}.")
                continue
            self.server_failures = 0
            return response
        raise failure

    def _server_failure(self, message: str) -> "ServerError":
        """Count one 5xx/timeout; past the cap, raise at once instead of retrying."""
        self.server_failures += 1
        if self.max_server_failures and self.server_failures >= self.max_server_failures:
            raise ServerError(f"{message.rstrip('.')} ({self.server_failures} times in a row).")
        return ServerError(message)

    def raise_for_status(self, response: httpx.Response, path: str) -> None:
        code = response.status_code
        if code < 400 or code >= 500:
            return
        ctype = response.headers.get("content-type", "")
        if code == 401:
            raise AuthError(
                "Impact rejected this Account SID and Auth Token (401). Copy both again from Impact: "
                "Settings > API, and make sure the token belongs to this Account SID."
            )
        if code == 403:
            endpoint = endpoint_name(path)
            raise ScopeError(
                f"Impact refused access to {endpoint} (403): this Auth Token has no permission for the "
                f"{endpoint.strip('/')} endpoint. Give the token that scope in Impact (Settings > API > "
                "scoped tokens) or use the account's full-access token.",
                endpoint=endpoint,
            )
        if code == 429:
            retry_after = _int_header(response.headers, "Retry-After") or _int_header(
                response.headers, "RateLimit-Reset"
            )
            retry_after = max(retry_after or 60, 1)
            # Every endpoint of the group waits, in every worker: Impact counts them together.
            self.limiter.block(endpoint_group(path), retry_after)
            raise RateLimited(f"Impact asked us to slow down (429); retrying in {retry_after} s.", retry_after)
        detail = error_message(response.content, ctype) or response.reason_phrase
        raise RequestRejected(f"Impact refused the request to {endpoint_name(path)} ({code}): {detail}", code)

    def get_data(self, path: str, *, params=None) -> dict:
        response = self.request(path, params=params)
        return parse_body(response.content, response.headers.get("content-type", ""))

    def iter_pages(self, path: str, params: dict, *, key: str, max_pages: int | None = None) -> Iterator[Page]:
        """Pages one by one through @nextpageuri; nothing of an earlier page is kept."""
        uri, query, seen = path, params, 0
        while uri:
            page = make_page(self.get_data(uri, params=query), key)
            seen += 1
            yield page
            if max_pages and seen >= max_pages:
                return
            if page.number >= page.numpages:
                return
            uri, query = page.next_uri, None

    # Endpoints ---------------------------------------------------------------------------------

    def company_information(self) -> dict:
        return _clean(self.get_data(self.path("CompanyInformation")))

    def probe_actions(self) -> None:
        """The cheapest call that needs the Actions scope: a one-minute window of Actions."""
        end = datetime.now(UTC).replace(microsecond=0)
        next(self.iter_actions(start=end - timedelta(minutes=1), end=end), None)

    def iter_actions(
        self, *, start: datetime, end: datetime, date_filter: str = "updated", page_size: int = PAGE_SIZE, **filters
    ) -> Iterator[Page]:
        check_window(start, end)
        if page_size < PAGE_SIZE:
            raise WindowError(f"Impact's smallest PageSize is {PAGE_SIZE}.")
        first, last = DATE_FILTERS[date_filter]
        params = {first: format_datetime(start), last: format_datetime(end), "PageSize": page_size, "Page": 1}
        params.update({k: v for k, v in filters.items() if v})
        return self.iter_pages(self.path("Actions"), params, key="Actions")

    def iter_action_updates(self, *, start: datetime, end: datetime, page_size: int = PAGE_SIZE) -> Iterator[Page]:
        check_window(start, end)
        params = {"StartDate": format_datetime(start), "EndDate": format_datetime(end), "PageSize": page_size}
        return self.iter_pages(self.path("ActionUpdates"), params, key="ActionUpdates")

    def action(self, action_id: str) -> dict:
        data = _clean(self.get_data(self.path(f"Actions/{action_id}")))
        if not data.get("Id"):
            raise MalformedBody(f"Impact's answer for action {action_id} has no Id.")
        return data

    def action_items(self, action_id: str) -> list[dict]:
        """The lines of one action (``ActionItems``); every action has at least one."""
        data = _clean(self.get_data(self.path(f"Actions/{action_id}/Items")))
        items = data.get("ActionItems")
        if not isinstance(items, list):
            raise MalformedBody(f"Impact's answer for the items of action {action_id} has no ActionItems.")
        return [item for item in items if isinstance(item, dict)]

    def iter_campaigns(self) -> Iterator[dict]:
        for page in self.iter_pages(self.path("Campaigns"), {"PageSize": 1000}, key="Campaigns"):
            yield from page.records

    def start_click_export(self, *, program_id: str, day: date) -> dict:
        params = {"ProgramId": program_id, "Date": day.isoformat(), "ResultFormat": "CSV"}
        data = _clean(self.get_data(self.path("ClickExport"), params=params))
        queued = data.get("QueuedUri") or ""
        if data.get("Status") != "QUEUED" or not queued:
            raise MalformedBody(f"Impact did not queue the click export (Status {data.get('Status')!r}).")
        data["JobId"] = queued.rstrip("/").rsplit("/", 1)[-1]
        return data

    def job(self, job_id: str) -> dict:
        data = _clean(self.get_data(self.path(f"Jobs/{job_id}")))
        if not data.get("Status"):
            raise MalformedBody(f"Impact's job {job_id} has no Status.")
        return data

    def iter_download(self, result_uri: str) -> Iterator[dict] | None:
        """Rows of a finished job's result, streamed, or None while Impact still answers 202.

        A 302 goes to a temporary signed URL (httpx drops our Authorization header when
        the redirect leaves Impact's host). CSV (the default) and paged JSON are read.
        """
        group = endpoint_group(result_uri)
        self.limiter.acquire(group)
        try:
            response = self.http.send(self.http.build_request("GET", result_uri), stream=True, follow_redirects=True)
        except httpx.TimeoutException:
            raise ServerError("Impact did not answer in time (Download).") from None
        except httpx.TransportError as e:
            raise ServerError(f"Could not reach Impact ({e.__class__.__name__}).") from None
        self.requests += 1
        self.limiter.observe(group, response.headers)
        if response.status_code != 200:
            response.read()
            response.close()
            if response.status_code == 202:
                return None
            self.raise_for_status(response, result_uri)
            raise ServerError(f"Impact answered {response.status_code} for the click export download.")
        return self._download_rows(response)

    def _download_rows(self, response: httpx.Response) -> Iterator[dict]:
        try:
            ctype = response.headers.get("content-type", "")
            lines = response.iter_lines()
            first = next(lines, "")
            while first is not None and first.strip() == "":
                first = next(lines, None)
            if first is None:
                return
            if "json" in ctype or first.lstrip().startswith("{"):
                body = "\n".join([first, *lines]).encode()
                yield from self._json_download_rows(body, ctype)
                return
            if first.lstrip().startswith("<"):
                raise MalformedBody("Impact sent XML where the click export CSV or JSON was expected.")
            header = next(csv.reader([first.lstrip("\ufeff")]))
            if "Id" not in header:
                raise MalformedBody("The click export CSV has no header row with an Id column.")
            for row in csv.reader(lines):
                if not row:
                    continue
                if len(row) != len(header):
                    raise MalformedBody(f"A click export CSV row has {len(row)} columns, the header {len(header)}.")
                yield {k: (v if v != "" else None) for k, v in zip(header, row, strict=True)}
        finally:
            response.close()

    def _json_download_rows(self, body: bytes, ctype: str) -> Iterator[dict]:
        page = make_page(parse_body(body, ctype), "Clicks")
        while True:
            yield from page.records
            if not page.next_uri or page.number >= page.numpages:
                return
            page = make_page(self.get_data(page.next_uri), "Clicks")


def _int_header(headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return max(0, int(float(value)))
    except ValueError:
        return None
