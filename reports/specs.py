"""The report pages as data: each ``Report`` says what its page shows and its CSV holds.

One view serves them all (reports/views.py:report_page): it reads the filters, then
either streams the CSV or renders templates/reports/table.html from the spec. A spec names
- its columns (key, heading, kind: how the page formats the value);
- its rows: a function of the ``Query`` and a row limit (the page's, or None for the
  whole CSV), each row a dict with a "name" for the first column. What the rows group
  by (member, offer, day ...) decides the rollup grain the selectors read
  (reports/selectors.py:rollup_grain);
- its totals row, chart and sort keys, where it has them;
- its CSV: the header and how each cell is read from a row, from the same rows unless
  ``csv_rows`` names others.
A new report is a spec here and a line in reports/urls.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.utils import timezone

from offers.models import Offer
from reports import raw_selectors, selectors
from reports.filters import ReportFilters
from tracking.models import PostbackLog
from workspaces.models import Workspace


@dataclass
class Query:
    """One request for a report: the workspace, the checked filters and the sort.

    ``read`` keeps what a selector returned, so a page's rows, totals and chart that
    come from the same figures read them once.
    """

    workspace: Workspace
    filters: ReportFilters
    sort: str | None = None
    _read: dict = field(default_factory=dict, repr=False)

    def read(self, selector: Callable[[Workspace, ReportFilters], object]):
        if selector not in self._read:
            self._read[selector] = selector(self.workspace, self.filters)
        return self._read[selector]


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # "{currency}" is replaced by the report's currency
    kind: str = "int"  # int, money, pct, epc or text: how the page formats the value


# Where a series is drawn: counts of clicks on the left axis, small counts (conversions) and money each on
# an axis of their own on the right, so a handful of conversions is not a flat line under thousands of clicks.
AXES = {
    "y": {"position": "left"},
    "y1": {"position": "right", "grid": {"drawOnChartArea": False}},
    "y2": {"position": "right", "grid": {"drawOnChartArea": False}},
}


@dataclass(frozen=True)
class Chart:
    """A chart of ``series`` (legend, key[, axis]) over ``points``, one point per ``x`` value; no points, no chart.

    A value of None is drawn as a gap (no data that day), never as zero.
    """

    points: Callable[[Query, list[dict]], list[dict]]
    x: str
    series: tuple[tuple[str, ...], ...]
    stacked: bool = False

    def render(self, q: Query, rows: list[dict]) -> str | None:
        points = self.points(q, rows)
        if not points:
            return None
        datasets, used = [], []
        for label, key, *rest in self.series:
            axis = rest[0] if rest else "y"
            used.append(axis) if axis not in used else None
            dataset = {"label": label.format(currency=q.filters.currency), "data": [p[key] for p in points]}
            if axis != "y":
                dataset["yAxisID"] = axis
            datasets.append(dataset)
        scales = {"x": {"stacked": self.stacked}}
        for axis in used or ["y"]:
            scales[axis] = {"beginAtZero": True, "stacked": self.stacked, **AXES[axis]}
        config = {
            "type": "bar" if self.stacked else "line",
            "data": {"labels": [p[self.x] for p in points], "datasets": datasets},
            "options": {"scales": scales, "spanGaps": False},
        }
        return json.dumps(config, default=str)


# A CSV cell: the row's value under a key, or a function of the row and the filters.
Cell = str | Callable[[dict, ReportFilters], object]


@dataclass(frozen=True)
class Report:
    slug: str  # names the CSV file: <slug>-<start>-<end>.csv
    title: str
    name_label: str  # heading of the first column, each row's "name"
    columns: tuple[Column, ...]
    rows: Callable[[Query, int | None], Iterable[dict]]
    csv: tuple[tuple[str, Cell], ...]  # (header, cell)
    csv_rows: Callable[[Query], Iterable[dict]] | None = None
    totals: Callable[[Query], dict] | None = None
    chart: Chart | None = None
    sorts: tuple[str, ...] = ()  # what ?sort= may name; column headings among them sort on a click
    default_sort: str | None = None
    note: str = ""
    empty: str = ""  # shown instead of the table when there is nothing to show
    reads_raw: str = ""  # "clicks" or "postbacks" when it reads those rows, which retention prunes

    def sort(self, value: str | None) -> str | None:
        if self.default_sort is None:
            return None
        return selectors.parse_sort(value, self.default_sort, self.sorts)

    def csv_lines(self, q: Query) -> Iterator[list]:
        rows = self.csv_rows(q) if self.csv_rows is not None else self.rows(q, None)
        for row in rows:
            yield [row[cell] if isinstance(cell, str) else cell(row, q.filters) for _, cell in self.csv]


def currency(row: dict, f: ReportFilters) -> str:
    return f.currency


def as_csv(columns: tuple[Column, ...]) -> tuple[tuple[str, Cell], ...]:
    """The columns' values, under their keys."""
    return tuple((c.key, c.key) for c in columns)


# --- Performance by member, offer and day (rollups) ----------------------------------

PERFORMANCE = (
    Column("clicks", "Clicks"),
    Column("unique_clicks", "Unique clicks"),
    Column("conversions", "Conversions"),
    Column("conversion_rate", "Conv. rate", "pct"),
    Column("sales", "Sales", "money"),
    Column("network_payout", "Network payout", "money"),
    Column("member_payout", "Member payout", "money"),
    Column("epc", "EPC (member payout / click)", "epc"),
)
NO_ACTIVITY = "No clicks or conversions in this range. Widen the dates or clear a filter."


def summary(q: Query) -> dict:
    return q.read(selectors.summary)


def performance(dimension: str, *, unnamed: str):
    """Rows per member or offer, sorted in SQL; a page reads only its first rows."""

    def rows(q: Query, limit: int | None) -> Iterator[dict]:
        qs = selectors.performance_by(q.workspace, q.filters, dimension, q.sort)
        for row in selectors.iter_rows(qs if limit is None else qs[:limit], dimension):
            row["name"] = row[f"{dimension}__name"] or unnamed
            yield row

    return rows


def by_dimension(dimension: str, title: str, *, unnamed: str, fields: tuple[str, ...] = ()) -> Report:
    """Performance per member or per offer; the CSV names each by name, code and ``fields``."""
    return Report(
        slug=f"performance-by-{dimension}",
        title=title,
        name_label=dimension.capitalize(),
        columns=tuple(Column(c.key, "Sales ({currency})", c.kind) if c.key == "sales" else c for c in PERFORMANCE),
        rows=performance(dimension, unnamed=unnamed),
        csv=(
            (dimension, lambda r, f: r[f"{dimension}__name"] or f"(no {dimension})"),
            (f"{dimension}_code", lambda r, f: r[f"{dimension}__code"] or ""),
            *((name, lambda r, f, name=name: r[f"{dimension}__{name}"] or "") for name in fields),
            *as_csv(PERFORMANCE),
            ("currency", currency),
        ),
        totals=summary,
        sorts=(*selectors.SORTABLE, "name"),
        default_sort="-clicks",
        empty=NO_ACTIVITY,
    )


BY_MEMBER = by_dimension("member", "Performance by member", unnamed="Unattributed", fields=("affiliate_id",))
BY_OFFER = by_dimension("offer", "Performance by offer", unnamed="(no offer)")


def day_rows(q: Query, limit: int | None) -> list[dict]:
    # Every day of the range (at most three years): the chart draws them all.
    return [{**d, "name": d["day"].isoformat()} for d in selectors.by_day(q.workspace, q.filters)]


BY_DAY = Report(
    slug="performance-by-day",
    title="Performance by day",
    name_label="Day",
    columns=(*PERFORMANCE, Column("bot_clicks", "Bot clicks")),
    rows=day_rows,
    csv=(("day", "name"), *as_csv(PERFORMANCE), ("bot_clicks", "bot_clicks"), ("currency", currency)),
    totals=summary,
    chart=Chart(
        points=lambda q, rows: rows,
        x="name",
        series=(
            ("Clicks", "clicks"),
            ("Conversions", "conversions", "y1"),
            ("Member payout ({currency})", "member_payout", "y2"),
        ),
    ),
    empty="No activity in this range yet.",
)

# --- Risk by member (raw rows) -------------------------------------------------------

RISK_COLUMNS = (
    Column("clicks", "Clicks (all)"),
    Column("bot_share", "Bot share %", "text"),
    Column("clicks_per_ip", "Clicks per IP", "text"),
    Column("conversions", "Conversions"),
    Column("fast", f"Converted < {int(raw_selectors.FAST_CONVERSION.total_seconds())} s"),
    Column("slow", f"Converted > {raw_selectors.SLOW_CONVERSION.days} days"),
    Column("without_click", "Without a click"),
    Column("mismatches", "Affiliate id mismatch"),
    Column("held", "On hold for review"),
)
RISK = Report(
    slug="risk-by-member",
    title="Risk by member",
    name_label="Member",
    columns=RISK_COLUMNS,
    rows=lambda q, limit: [
        {**r, "name": r["member"].name} for r in raw_selectors.risk_by_member(q.workspace, q.filters, q.sort)
    ],
    csv=(
        ("member", lambda r, f: r["member"].name),
        ("member_code", lambda r, f: r["member"].code),
        ("affiliate_id", lambda r, f: r["member"].affiliate_id),
        *as_csv(RISK_COLUMNS),
        ("flags", lambda r, f: "; ".join(r["flags"])),
    ),
    sorts=raw_selectors.RISK_SORTABLE,
    default_sort="-bot_share",
    note=(
        f"Flags: bots above {raw_selectors.RISK_BOT_SHARE}% of clicks, more than "
        f"{raw_selectors.RISK_CLICKS_PER_IP} counted clicks per hashed IP, conversions suspiciously soon or late "
        "after their click, conversions with no click, postbacks naming another member's affiliate id, and "
        "conversions the fraud rules hold for review (their payout is not paid until released in Review). "
        "Reads raw rows of the range."
    ),
    empty="No member traffic in this range.",
    reads_raw="clicks",
)

# --- Clicks on paused or expired offers (rollups) ------------------------------------


def off_state_rows(q: Query, limit: int | None) -> Iterator[dict]:
    qs = selectors.off_state_by_offer(q.workspace, q.filters)
    offers = {o.id: o for o in Offer.objects.filter(workspace=q.workspace, id__in=qs.values("offer_id"))}
    now = timezone.now()
    for r in qs.iterator() if limit is None else qs[:limit]:
        offer = offers.get(r["offer_id"])
        yield {
            "name": r["offer__name"],
            "code": r["offer__code"],
            "state": offer.state_at(now) if offer else "",
            "off_state_clicks": r["m_off_state_clicks"],
            "clicks": r["m_clicks"],
        }


OFF_STATE = Report(
    slug="off-state-clicks",
    title="Clicks on paused or expired offers",
    name_label="Offer",
    columns=(
        Column("state", "State now", "text"),
        Column("off_state_clicks", "Off-state clicks"),
        Column("clicks", "All counted clicks"),
    ),
    rows=off_state_rows,
    csv=(
        ("offer", "name"),
        ("offer_code", "code"),
        ("state_now", "state"),
        ("off_state_clicks", "off_state_clicks"),
        ("clicks", "clicks"),
    ),
    chart=Chart(
        points=lambda q, rows: selectors.off_state_by_day(q.workspace, q.filters) if rows else [],
        x="day",
        series=(("Clicks on paused/expired offers", "off_state_clicks"),),
        stacked=True,
    ),
    note="Visitors who clicked while the offer was paused, expired or not yet started were sent to its "
    "fallback URL. These clicks are counted in every other report too.",
    empty="No clicks reached a paused or expired offer in this range.",
)

# --- Network clicks vs ours (rollups beside the networks app's counts) ---------------


def network_days(q: Query, rows: list[dict]) -> list[dict]:
    """Our clicks and the networks', summed over connections, per day."""
    days: dict[str, dict] = {}
    for r in rows:
        day = days.setdefault(r["name"], {"day": r["name"], "ours": 0, "network": None})
        day["ours"] += r["ours"]
        if r["network"] is not None:  # a day the network reported nothing for stays a gap, not a zero
            day["network"] = (day["network"] or 0) + r["network"]
    return [days[name] for name in sorted(days)]


NETWORK_CLICKS = Report(
    slug="network-clicks",
    title="Network clicks vs ours",
    name_label="Day",
    columns=(
        Column("connection", "Network", "text"),
        Column("ours", "Our clicks"),
        Column("network", "Network's clicks"),
        Column("difference", "Difference %", "text"),
    ),
    rows=lambda q, limit: [
        {**r, "name": r["day"].isoformat()} for r in selectors.network_clicks_vs_ours(q.workspace, q.filters)
    ],
    csv=(
        ("day", "name"),
        ("network", "connection"),
        ("our_clicks", "ours"),
        ("network_clicks", "network"),
        ("difference_pct", "difference"),
    ),
    chart=Chart(points=network_days, x="day", series=(("Our clicks", "ours"), ("Network's clicks", "network"))),
    note="Our counted clicks on the connection's offers beside the clicks the network reports for the same day. "
    "A large gap points at blocked redirects, bots or links that skip the hub.",
    empty="No network click counts for this range. They arrive with the Impact sync's daily click export; "
    "connect Impact under Networks.",
)

# --- Postback outcomes (raw rows) -----------------------------------------------------


def outcomes(q: Query) -> dict:
    return q.read(raw_selectors.postback_outcomes)


def outcome_rows(q: Query, limit: int | None) -> list[dict]:
    """Hits per outcome, then the most frequent reasons."""
    data = outcomes(q)
    rows = [{"name": label, "count": data["totals"].get(value, 0)} for value, label in PostbackLog.Outcome.choices]
    rows += [{"name": f"{r['outcome']}: {r['reason']}", "count": r["count"]} for r in data["reasons"]]
    return rows


POSTBACK_OUTCOMES = Report(
    slug="postback-outcomes",
    title="Postback outcomes",
    name_label="Outcome",
    columns=(Column("count", "Hits"),),
    rows=outcome_rows,
    # The CSV has a row per day and a column per outcome.
    csv=(("day", "day"), *((outcome, outcome) for outcome in PostbackLog.Outcome.values)),
    csv_rows=lambda q: outcomes(q)["days"],
    totals=lambda q: {"count": outcomes(q)["total"]},
    chart=Chart(
        points=lambda q, rows: outcomes(q)["days"] if outcomes(q)["total"] else [],
        x="day",
        series=tuple((label, value) for value, label in PostbackLog.Outcome.choices),
        stacked=True,
    ),
    note="Every postback and pixel hit of the range by outcome, then the most frequent reasons. "
    "Open the Postback log to see and replay single hits.",
    empty="No postbacks or pixel hits in this range.",
    reads_raw="postbacks",
)
