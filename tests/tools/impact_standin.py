"""A local stand-in for the impact.com partner API, for the benchmark and smoke tests.

It behaves like the real one where our client depends on it: HTTP Basic auth (401
otherwise), XML by default and JSON with ``Accept: application/json`` or a ``.json``
suffix, string values with "" for missing ones, the ``@`` paging envelope with
``@nextpageuri``, the Actions rules (7 days without dates, at most 45 days, not older
than 3 years, PageSize >= 2000, an error past 10 pages), ActionUpdates, Campaigns,
ClickExport -> Jobs (QUEUED -> RUNNING -> COMPLETED) -> Download (202, then 302 to a
CSV file), the partner rate-limit headers, and 10 ClickExports a day.

Actions are generated from their index, never stored, so 100,000 of them cost nothing:
action i happens at ``start + i * step``; every 50th one is reversed five days later
(an ActionUpdate).

Switches for harder cases, each an attribute tests may set at any time:
- ``twin_every = n``: every n-th action (i % n == 1) carries the SubId1 of the action
  before it, under its own ActionId (a customer who buys twice after one click);
- ``throttle["ActionUpdates"] = n``: the next n ActionUpdates requests answer 429 with
  ``Retry-After: retry_after``; until that time has passed every request of the
  performance group (Actions, ActionUpdates, Actions/{Id}) answers 429 too, and is
  counted in ``early_requests`` (a client that honours Retry-After makes none);
- ``approved`` (a set of indexes) are APPROVED; ``modify(i, amount=..., payout=...)``
  changes action i as Impact does when a brand edits it: PENDING again (until it locks
  again), new amounts, and an ActionUpdate record with the deltas.

    python -m tests.tools.impact_standin --port 8105 --actions 100000 --days 60
"""

import argparse
import base64
import json
import math
import threading
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape, quoteattr

from tests.tools import standin_http
from tests.tools.standin_http import StandinHandler

SID = "IRSTANDIN" + "0" * 24 + "1"
TOKEN = "standin-auth-token-0123456789"
CAMPAIGN_ID = "1000"
REVERSE_EVERY = 50
LOCK_AFTER = timedelta(days=30)


def _fmt(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Standin:
    """The data and the knobs; one instance per server."""

    def __init__(
        self,
        *,
        actions: int = 3,
        start: datetime | None = None,
        end: datetime | None = None,
        sid: str = SID,
        token: str = TOKEN,
        clicks_per_export: int = 300,
        job_polls_before_done: int = 2,
        fail_jobs: bool = False,
        downloads_not_ready: int = 1,
        sub_id1_for=None,
        sub_id2_for=None,
        twin_every: int = 0,
        retry_after: int = 120,
    ):
        now = datetime.now(UTC).replace(microsecond=0)
        self.end = end or now - timedelta(hours=1)
        self.start = start or self.end - timedelta(days=30)
        self.n = actions
        self.step = (self.end - self.start) / max(actions, 1)
        self.sid, self.token = sid, token
        self.clicks_per_export = clicks_per_export
        self.job_polls_before_done = job_polls_before_done
        self.fail_jobs = fail_jobs
        self.downloads_not_ready = downloads_not_ready
        self.sub_id1_for = sub_id1_for or (lambda i: f"hub-click-{i:06x}")
        self.sub_id2_for = sub_id2_for or (lambda i: f"creator-{i % 40}")
        self.jobs: dict[str, dict] = {}
        self.exports_per_day: dict[str, int] = {}
        self.inject: list[tuple[int, dict, str]] = []  # (status, headers, body) for the next requests
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.twin_every = twin_every
        self.throttle: dict[str, int] = {}  # resource -> how many of its next requests answer 429
        self.retry_after = retry_after
        self.blocked_until: datetime | None = None  # the performance group waits until then
        self.early_requests = 0  # performance requests made before blocked_until
        self.approved: set[int] = set()
        self.modifications: dict[int, dict] = {}

    # Switches ------------------------------------------------------------------------------
    def modify(self, i: int, *, amount: str, payout: str, at: datetime | None = None) -> dict:
        """Impact modifies action i (e.g. a partial return): PENDING again until it locks again,
        new amounts, and an ActionUpdate dated ``at`` (default now) with the deltas."""
        before = self.action(i)
        at = (at or datetime.now(UTC)).replace(microsecond=0)
        with self.lock:
            self.modifications[i] = {
                "at": at,
                "amount": amount,
                "payout": payout,
                "delta_amount": f"{float(amount) - float(before['Amount']):.2f}",
                "delta_payout": f"{float(payout) - float(before['Payout']):.2f}",
            }
        return self.action(i)

    def sub_id1(self, i: int) -> str:
        if self.twin_every and i % self.twin_every == 1:
            return self.sub_id1_for(i - 1)
        return self.sub_id1_for(i)

    # Generated records ---------------------------------------------------------------------
    def event_at(self, i: int) -> datetime:
        return self.start + self.step * i

    def action(self, i: int) -> dict:
        event = self.event_at(i)
        reversed_ = i % REVERSE_EVERY == 0 and event + timedelta(days=5) <= datetime.now(UTC)
        amount = f"{20 + (i % 80)}.{i % 100:02d}"
        payout = f"{(20 + (i % 80)) // 20}.{(i * 7) % 100:02d}"
        state = "REVERSED" if reversed_ else "APPROVED" if i in self.approved else "PENDING"
        locking = event + LOCK_AFTER
        mod = self.modifications.get(i)
        if mod and not reversed_:
            state, amount, payout, locking = "PENDING", mod["amount"], mod["payout"], mod["at"] + LOCK_AFTER
        record = {
            "Id": f"{CAMPAIGN_ID}.4636.{i}",
            "CampaignId": CAMPAIGN_ID,
            "CampaignName": "Acme Campaign",
            "ActionTrackerId": "2240",
            "ActionTrackerName": "Sale",
            "State": state,
            "AdId": "506720",
            "Payout": "0.00" if reversed_ else payout,
            "Amount": "0.00" if reversed_ else amount,
            "Currency": "USD",
            "ReferringDate": _fmt(event - timedelta(minutes=5)),
            "EventDate": _fmt(event),
            "CreationDate": _fmt(event),
            "LockingDate": _fmt(locking),
            "ClearedDate": "",
            "ReferringType": "CLICK_COOKIE",
            "ReferringDomain": "",
            "PromoCode": "",
            "Oid": f"ORD{i:08d}",
            "EventCode": "",
            "CustomerCountry": "US",
            "SubId1": self.sub_id1(i),
            "SubId2": self.sub_id2_for(i),
            "SubId3": "",
            "SharedId": "",
            "Uri": f"/Mediapartners/{self.sid}/Actions/{CAMPAIGN_ID}.4636.{i}",
        }
        if mod and not reversed_:
            record.update(DeltaAmount=mod["delta_amount"], DeltaPayout=mod["delta_payout"])
        return record

    def modification_update(self, i: int) -> dict:
        mod = self.modifications[i]
        action = self.action(i)
        return {
            "Id": f"{CAMPAIGN_ID}.4636.{i}.3",
            "ActionId": action["Id"],
            "CampaignId": CAMPAIGN_ID,
            "State": "PENDING",
            "StateDetailDescription": "Action was modified",
            "DeltaPayout": mod["delta_payout"],
            "DeltaAmount": mod["delta_amount"],
            "Currency": "USD",
            "UpdateDate": _fmt(mod["at"]),
            "LockingDate": action["LockingDate"],
            "ClearingDate": "",
            "ActionDate": action["EventDate"],
            "SubId1": action["SubId1"],
            "SubId2": action["SubId2"],
            "SubId3": "",
            "Uri": f"/Mediapartners/{self.sid}/ActionUpdates/{CAMPAIGN_ID}.4636.{i}.3",
        }

    def modified_between(self, lo: datetime, hi: datetime) -> list[int]:
        return sorted(i for i, mod in self.modifications.items() if lo <= mod["at"] < hi)

    def update(self, i: int) -> dict:
        event = self.event_at(i)
        return {
            "Id": f"{CAMPAIGN_ID}.4636.{i}.2",
            "ActionId": f"{CAMPAIGN_ID}.4636.{i}",
            "CampaignId": CAMPAIGN_ID,
            "State": "REVERSED",
            "DeltaPayout": "-1.00",
            "DeltaAmount": "-20.00",
            "Currency": "USD",
            "UpdateDate": _fmt(event + timedelta(days=5)),
            "LockingDate": _fmt(event + LOCK_AFTER),
            "ClearingDate": "",
            "ActionDate": _fmt(event),
            "SubId1": self.sub_id1(i),
            "SubId2": self.sub_id2_for(i),
            "SubId3": "",
            "Uri": f"/Mediapartners/{self.sid}/ActionUpdates/{CAMPAIGN_ID}.4636.{i}.2",
        }

    def index_range(self, lo: datetime, hi: datetime, offset=timedelta(0)) -> range:
        """Indexes i with lo <= event_at(i) + offset < hi."""
        step = self.step.total_seconds() or 1
        first = max(0, math.ceil(((lo - offset) - self.start).total_seconds() / step))
        last = min(self.n, math.ceil(((hi - offset) - self.start).total_seconds() / step))
        return range(first, max(first, last))


class Handler(StandinHandler):
    server_version = "ImpactStandin/1.0"

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        with self.data.lock:
            self.data.requests.append(self.path)
            injected = self.data.inject.pop(0) if self.data.inject else None
        if path.startswith("/files/"):
            return self.file(path)
        if not self.authorised():
            return self.send(401, {"Status": "ERROR", "Message": "Unauthorized"}, as_json=True)
        if injected:
            status, headers, body = injected
            return self.raw(status, body.encode(), "application/json", headers)
        limited = self.throttled(path)
        if limited:
            return self.raw(429, b'{"Status":"ERROR","Message":"Too many requests"}', "application/json", limited)
        as_json = "application/json" in (self.headers.get("Accept") or "") or path.endswith(".json")
        path = path.removesuffix(".json")
        prefix = f"/Mediapartners/{self.data.sid}/"
        if not path.startswith(prefix):
            return self.send(404, {"Status": "ERROR", "Message": "The requested resource was not found"}, as_json)
        resource = path[len(prefix) :].split("/")
        try:
            return self.route(resource, query, as_json)
        except ValueError as e:
            return self.send(400, {"Status": "ERROR", "Message": str(e)}, as_json)

    def throttled(self, path: str) -> dict | None:
        """Retry-After headers when this request must answer 429 (see Standin.throttle)."""
        resource = path.removesuffix(".json").split("/")[3:4]
        name = resource[0] if resource else ""
        if name not in ("Actions", "ActionUpdates", "Clicks"):
            return None
        data, now = self.data, datetime.now(UTC)
        with data.lock:
            if data.blocked_until and now < data.blocked_until:
                data.early_requests += 1
                wait = math.ceil((data.blocked_until - now).total_seconds())
            elif data.throttle.get(name):
                data.throttle[name] -= 1
                data.blocked_until = now + timedelta(seconds=data.retry_after)
                wait = data.retry_after
            else:
                return None
        return {"Retry-After": str(wait), "X-RateLimit-Remaining-hour": "0", "RateLimit-Reset": str(wait)}

    def authorised(self) -> bool:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.data.sid and password == self.data.token

    def route(self, resource, query, as_json):
        name = resource[0]
        if name == "CompanyInformation":
            return self.send(200, {"CompanyName": "Stand-in Partner", "Currency": "USD", "Timezone": "UTC"}, as_json)
        if name == "Actions" and len(resource) == 2:
            i = int(resource[1].rsplit(".", 1)[-1])
            return self.send(200, self.data.action(i), as_json, item="Action")
        if name == "Actions":
            return self.listing("Actions", "Action", query, as_json)
        if name == "ActionUpdates":
            return self.listing("ActionUpdates", "ActionUpdate", query, as_json)
        if name == "Campaigns":
            campaigns = [
                {"CampaignId": CAMPAIGN_ID, "CampaignName": "Acme Campaign", "ContractStatus": "Active"},
                {"CampaignId": "1001", "CampaignName": "Old Program", "ContractStatus": "Expired"},
            ]
            return self.send(200, self.envelope("Campaigns", campaigns, 1, 1, 1000, len(campaigns), query), as_json)
        if name == "ClickExport":
            return self.click_export(query, as_json)
        if name == "Jobs" and len(resource) == 2:
            return self.job(resource[1], as_json)
        if name == "Jobs" and len(resource) == 3 and resource[2] == "Download":
            return self.download(resource[1])
        return self.send(404, {"Status": "ERROR", "Message": "The requested resource was not found"}, as_json)

    def listing(self, plural, item, query, as_json):
        now = datetime.now(UTC)
        names = {
            "StartDate": ("StartDate", "EndDate"),
            "LockingDateStart": ("LockingDateStart", "LockingDateEnd"),
            "ActionDateStart": ("ActionDateStart", "ActionDateEnd"),
        }
        field = next((k for k in names if k in query), None)
        if field is None:
            lo, hi = now - timedelta(days=7), now  # no dates: only the last 7 days
        else:
            first, last = names[field]
            if last not in query:
                raise ValueError(f"{last} is required when {first} is given")
            lo, hi = _parse(query[first]), _parse(query[last])
            if hi - lo > timedelta(days=45):
                raise ValueError(f"{first} and {last} cannot be more than 45 days apart")
            if lo < now - timedelta(days=3 * 365):
                raise ValueError(f"{first} cannot be older than 3 years")
        page_size = int(query.get("PageSize", 20000))
        if page_size < 2000:
            raise ValueError("PageSize must be at least 2000")
        page = int(query.get("Page", 1))
        data = self.data
        if plural == "Actions":
            offset = LOCK_AFTER if field == "LockingDateStart" else timedelta(0)
            indexes = data.index_range(lo, hi, offset)
            if field == "StartDate" and data.modifications:  # a modified action was last updated when modified
                extra = [i for i in data.modified_between(lo, hi) if i not in indexes]
                indexes = [*indexes, *extra]
            make = data.action
        else:
            # One reversal per REVERSE_EVERY actions, five days after the action; modifications when made.
            every = data.index_range(lo, hi, timedelta(days=5))
            reversals = [i for i in range(_ceil_to(every.start, REVERSE_EVERY), every.stop, REVERSE_EVERY)]
            indexes = [(data.update, i) for i in reversals if data.event_at(i) + timedelta(days=5) <= now]
            indexes += [(data.modification_update, i) for i in data.modified_between(lo, hi)]

            def make(item):
                return item[0](item[1])

        total = len(indexes)
        numpages = max(1, math.ceil(total / page_size))
        if numpages > 10:
            raise ValueError("The result has more than 10 pages; narrow the date range")
        chosen = indexes[(page - 1) * page_size : page * page_size]
        records = [make(i) for i in chosen]
        return self.send(200, self.envelope(plural, records, page, numpages, page_size, total, query), as_json, item)

    def envelope(self, plural, records, page, numpages, page_size, total, query):
        path = urlsplit(self.path).path
        base = {k: v for k, v in query.items() if k != "Page"}

        def uri(n):
            return f"{path}?{urlencode({**base, 'PageSize': page_size, 'Page': n})}"

        return {
            "@page": str(page),
            "@numpages": str(numpages),
            "@pagesize": str(page_size),
            "@total": str(total),
            "@start": str((page - 1) * page_size),
            "@end": str((page - 1) * page_size + max(len(records) - 1, 0)),
            "@uri": uri(page),
            "@firstpageuri": uri(1),
            "@previouspageuri": uri(page - 1) if page > 1 else "",
            "@nextpageuri": uri(page + 1) if page < numpages else "",
            "@lastpageuri": uri(numpages),
            plural: records,
        }

    def click_export(self, query, as_json):
        day = query.get("Date") or datetime.now(UTC).date().isoformat()
        today = datetime.now(UTC).date().isoformat()
        with self.data.lock:
            used = self.data.exports_per_day.get(today, 0)
            if used >= 10:
                return self.raw(
                    429, b'{"Status":"ERROR","Message":"ClickExport limit reached"}', "application/json", {}
                )
            self.data.exports_per_day[today] = used + 1
            job_id = str(uuid.uuid4())
            self.data.jobs[job_id] = {"program": query.get("ProgramId", ""), "date": day, "polls": 0, "downloads": 0}
        base = f"/Mediapartners/{self.data.sid}/Jobs/{job_id}"
        body = {"Status": "QUEUED", "QueuedUri": base, "ResultUri": base + "/Download", "ReplayUri": base + "/Replay"}
        return self.send(200, body, as_json)

    def job(self, job_id, as_json):
        job = self.data.jobs.get(job_id)
        if job is None:
            return self.send(404, {"Status": "ERROR", "Message": "The requested resource was not found"}, as_json)
        job["polls"] += 1
        done = job["polls"] > self.data.job_polls_before_done
        if self.data.fail_jobs and done:
            status, message = "FAILED", "Job failed after 5 attempts."
        elif done:
            status, message = "COMPLETED", "Job processing completed successfully."
        else:
            status, message = ("QUEUED", "") if job["polls"] == 1 else ("RUNNING", "")
        base = f"/Mediapartners/{self.data.sid}/Jobs/{job_id}"
        body = {
            "Id": job_id,
            "Type": "ClickExport",
            "ProgramId": job["program"],
            "Status": status,
            "StatusMessage": message,
            "RecordsProcessed": str(self.data.clicks_per_export if done else 0),
            "PercentageComplete": "100" if done else "0",
            "Replayable": "true",
            "ResultUri": base + "/Download",
        }
        return self.send(200, body, as_json, item="Job")

    def download(self, job_id):
        job = self.data.jobs.get(job_id)
        if job is None:
            return self.raw(404, b"", "text/plain", {})
        job["downloads"] += 1
        if job["downloads"] <= self.data.downloads_not_ready:
            return self.raw(202, json.dumps({"Id": job_id, "Status": "RUNNING"}).encode(), "application/json", {})
        # Like Impact's temporary signed URL, on another host (so no credentials may follow).
        port = self.server.server_address[1]
        return self.raw(302, b"", "text/plain", {"Location": f"http://localhost:{port}/files/{job_id}.csv"})

    def file(self, path):
        job_id = path.rsplit("/", 1)[-1].removesuffix(".csv")
        job = self.data.jobs.get(job_id)
        if job is None:
            return self.raw(404, b"", "text/plain", {})
        if self.headers.get("Authorization"):
            # A signed download URL must not receive the account's credentials.
            return self.raw(400, b"credentials sent to the download host", "text/plain", {})
        header = "Id,ProgramId,ProgramName,EventDate,SubId1,SubId2,SubId3,UniqueClick"
        lines = [header]
        for n in range(self.data.clicks_per_export):
            sub = f"hub-click-{n % 50:06x}" if n % 3 else ""
            unique = "true" if n % 2 else "false"
            lines.append(f"c{n},{job['program']},Acme Campaign,{job['date']}T12:00:00-05:00,{sub},creator-1,,{unique}")
        return self.raw(200, ("\r\n".join(lines) + "\r\n").encode(), "text/csv", {})

    # Output ------------------------------------------------------------------------------------
    def send(self, status, data, as_json, item=None):
        if as_json:
            return self.raw(status, json.dumps(data).encode(), "application/json", self.limit_headers())
        return self.raw(status, to_xml(data, item).encode(), "text/xml; charset=UTF-8", self.limit_headers())

    def limit_headers(self):
        return {"X-RateLimit-Limit-hour": "500", "X-RateLimit-Remaining-hour": "499", "RateLimit-Reset": "1800"}


def _ceil_to(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def to_xml(data: dict, item: str | None) -> str:
    """Impact's XML: <ImpactRadiusResponse>, list containers carrying paging as attributes."""

    def fields(record):
        out = []
        for k, v in record.items():
            if isinstance(v, list):
                out.append(f"<{k}>" + "".join(f"<{k[:-1]}>{escape(str(x))}</{k[:-1]}>" for x in v) + f"</{k}>")
            elif v in ("", None):
                out.append(f"<{k}/>")
            else:
                out.append(f"<{k}>{escape(str(v))}</{k}>")
        return "".join(out)

    lists = [k for k, v in data.items() if isinstance(v, list) and not k.startswith("@")]
    if any(k.startswith("@") for k in data) and lists:
        plural = lists[0]
        attrs = " ".join(f"{k[1:]}={quoteattr(str(v))}" for k, v in data.items() if k.startswith("@"))
        tag = item or plural[:-1]
        body = "".join(f"<{tag}>{fields(r)}</{tag}>" for r in data[plural])
        inner = f"<{plural} {attrs}>{body}</{plural}>"
    elif item:
        inner = f"<{item}>{fields(data)}</{item}>"
    else:
        inner = fields(data)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<ImpactRadiusResponse>{inner}</ImpactRadiusResponse>'


class StandinServer(standin_http.StandinServer):
    """Runs the stand-in in a thread: ``with StandinServer(actions=10) as s: s.url``."""

    def __init__(self, port: int = 0, **options):
        super().__init__(Standin(**options), Handler, port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8105)
    parser.add_argument("--actions", "--rows", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    server = StandinServer(port=args.port, actions=args.actions, start=end - timedelta(days=args.days), end=end)
    print(f"Impact stand-in on {server.url} (Account SID {SID}, Auth Token {TOKEN})", flush=True)
    server.serve()


if __name__ == "__main__":
    main()
