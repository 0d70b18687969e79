"""Top paths: the touchpoints before each conversion, grouped into the most common paths.

A conversion's path is its visitor's earlier counted clicks (the same hashed IP, within
the offer's attribution window before the converting click), across links and members,
then the converting click. Consecutive clicks on one member's links are one touchpoint. Credit stays with the
last click (the conversion's member); the report shows who else touched the sale.

On PostgreSQL one statement does it all and returns a row per path (PATHS_SQL, on the
(workspace, event_at) index of conversions and the (workspace, ip_hash, created_at) index
of clicks, tracking migration 0012); elsewhere two reads are grouped here, by the same rule.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db import connection

from offers.models import Member
from reports.filters import ReportFilters
from reports.raw_selectors import _raw_dimensions
from reports.specs import Column, Query, Report, currency
from tracking.models import Click, Conversion
from workspaces.models import Workspace

MAX_TOUCHPOINTS = 6  # longer paths keep their last ones, after an ellipsis
MAX_CONVERSIONS = 20_000  # the newest of a range (a sample large enough for the common paths; the page says so)
ARROW = " → "


def _touchpoints(member_ids: list[int]) -> list[int]:
    """Consecutive clicks on one member's links are one touchpoint."""
    points: list[int] = []
    for member_id in member_ids:
        if not points or points[-1] != member_id:
            points.append(member_id)
    return points


def _conversions(workspace: Workspace, f: ReportFilters):
    """The range's conversions through a click, newest first (filters as the other raw reports)."""
    start, end = f.bounds()
    conversions = Conversion.objects.filter(
        workspace=workspace, event_at__gte=start, event_at__lt=end, status__in=f.statuses, click__isnull=False
    )
    conversions = _raw_dimensions(
        conversions.exclude(source="test").exclude(member__is_test=True), f, connection_field="connection"
    )
    return conversions.order_by("-event_at")


# PostgreSQL groups the paths itself and returns one row per path: the earlier clicks of each
# conversion's visitor, the converting click last, consecutive clicks on one member's links
# collapsed (lag), then grouped. The same rule as _groups_in_python, which SQLite uses.
PATHS_SQL = """
WITH conv(id, event_at, sale, currency, ip, clicked, member_id, window_days) AS ({conversions}),
touch AS (
    SELECT c.id, e.created_at, e.member_id
    FROM conv c
    JOIN {click} e ON e.workspace_id = %s AND e.ip_hash = c.ip
        AND e.created_at >= c.clicked - coalesce(c.window_days, %s) * interval '1 day'
        AND e.created_at < c.clicked AND NOT e.is_bot
    JOIN {member} m ON m.id = e.member_id AND NOT m.is_test
    WHERE c.ip <> ''
    UNION ALL
    SELECT c.id, c.clicked, c.member_id FROM conv c
),
marked AS (
    SELECT id, created_at, member_id, lag(member_id) OVER (PARTITION BY id ORDER BY created_at) AS prev FROM touch
),
paths AS (
    SELECT id, array_agg(member_id ORDER BY created_at) FILTER (WHERE prev IS DISTINCT FROM member_id) AS path,
        min(created_at) AS first_touch
    FROM marked GROUP BY id
)
SELECT p.path, count(*), coalesce(sum(c.sale) FILTER (WHERE c.currency = %s), 0),
    sum(greatest(extract(epoch FROM c.event_at - p.first_touch), 0))
FROM paths p JOIN conv c ON c.id = p.id
GROUP BY p.path
"""
FIELDS = (
    "id",
    "event_at",
    "sale_amount",
    "currency",
    "click__ip_hash",
    "click__created_at",
    "click__member_id",
    "offer__attribution_window_days",
)
DEFAULT_WINDOW_DAYS = 30  # a conversion without an offer


def _groups_in_sql(workspace: Workspace, f: ReportFilters, conversions) -> list[dict]:
    conv_sql, conv_params = conversions.values_list(*FIELDS)[:MAX_CONVERSIONS].query.sql_with_params()
    sql = PATHS_SQL.format(
        conversions=conv_sql,
        click=connection.ops.quote_name(Click._meta.db_table),
        member=connection.ops.quote_name(Member._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*conv_params, workspace.pk, DEFAULT_WINDOW_DAYS, f.currency])
        found = cursor.fetchall()
    return [
        {"path": tuple(path), "conversions": n, "sales": Decimal(sales), "seconds": float(seconds or 0)}
        for path, n, sales, seconds in found
    ]


def _window(days: int | None) -> timedelta:
    return timedelta(days=days or DEFAULT_WINDOW_DAYS)


def _groups_in_python(workspace: Workspace, f: ReportFilters, conversions) -> list[dict]:
    found = list(conversions.values_list(*FIELDS)[:MAX_CONVERSIONS])
    visitors = {row[4] for row in found if row[4]}
    earlier: dict[str, list[tuple]] = defaultdict(list)
    if visitors:
        first = min(row[5] - _window(row[7]) for row in found)
        last = max(row[5] for row in found)
        clicks = Click.objects.filter(
            workspace=workspace,
            ip_hash__in=visitors,
            created_at__gte=first,
            created_at__lt=last,
            is_bot=False,
        )
        clicks = clicks.exclude(member__is_test=True).values_list("ip_hash", "created_at", "member_id")
        for ip, clicked, member_id in clicks.order_by("ip_hash", "created_at").iterator(chunk_size=5000):
            earlier[ip].append((clicked, member_id))
    groups: dict[tuple, dict] = {}
    for _id, event_at, sale, conv_currency, ip, clicked, member_id, window_days in found:
        since = clicked - _window(window_days)
        before = [(t, m) for t, m in earlier.get(ip, ()) if since <= t < clicked] if ip else []
        path = tuple(_touchpoints([m for _, m in before] + [member_id]))
        first_touch = before[0][0] if before else clicked
        group = groups.setdefault(path, {"path": path, "conversions": 0, "sales": Decimal("0.00"), "seconds": 0.0})
        group["conversions"] += 1
        if conv_currency == f.currency:
            group["sales"] += sale
        group["seconds"] += max((event_at - first_touch).total_seconds(), 0)
    return list(groups.values())


def top_paths(workspace: Workspace, f: ReportFilters) -> dict:
    """{"rows": paths by conversions, "conversions": how many were read, "capped": whether the range had more}."""
    conversions = _conversions(workspace, f)
    groups_of = _groups_in_sql if connection.vendor == "postgresql" else _groups_in_python
    groups = groups_of(workspace, f, conversions)
    capped = conversions[MAX_CONVERSIONS : MAX_CONVERSIONS + 1].exists()
    names = dict(
        Member.objects.filter(workspace=workspace, id__in={m for g in groups for m in g["path"]}).values_list(
            "id", "name"
        )
    )
    rows = []
    for group in sorted(groups, key=lambda g: (-g["conversions"], len(g["path"]), g["path"])):
        path = group["path"]
        shown = [names.get(m, "?") for m in path[-MAX_TOUCHPOINTS:]]
        rows.append(
            {
                "name": ("…" + ARROW if len(path) > MAX_TOUCHPOINTS else "") + ARROW.join(shown),
                "touchpoints": len(path),
                "others": len(set(path) - {path[-1]}),
                "credited": names.get(path[-1], "?"),
                "conversions": group["conversions"],
                "sales": Decimal(group["sales"]).quantize(Decimal("0.01")),
                "hours": Decimal(group["seconds"] / group["conversions"] / 3600).quantize(Decimal("0.1")),
            }
        )
    return {"rows": rows, "conversions": sum(g["conversions"] for g in groups), "capped": capped}


PATH_COLUMNS = (
    Column("touchpoints", "Touchpoints"),
    Column("others", "Other members"),
    Column("credited", "Credited (last click)", "text"),
    Column("conversions", "Conversions"),
    Column("sales", "Sales ({currency})", "money"),
    Column("hours", "Avg. hours to convert", "text"),
)


def path_rows(q: Query, limit: int | None) -> list[dict]:
    rows = q.read(top_paths)["rows"]
    return rows if limit is None else rows[:limit]


TOP_PATHS = Report(
    slug="top-paths",
    title="Top paths",
    name_label="Path (first touch → converting click)",
    columns=PATH_COLUMNS,
    rows=path_rows,
    csv=(
        ("path", "name"),
        ("touchpoints", "touchpoints"),
        ("other_members", "others"),
        ("credited_member", "credited"),
        ("conversions", "conversions"),
        ("sales", "sales"),
        ("avg_hours_to_convert", "hours"),
        ("currency", currency),
    ),
    totals=lambda q: {"conversions": q.read(top_paths)["conversions"]},
    note=(
        "Each conversion through a click, with the same visitor's earlier clicks within the offer's attribution "
        "window before it (same hashed IP), across links and members; repeated clicks on one member's links are "
        "one touchpoint. "
        "The credit stays with the last click. Time to convert runs from the first touch to the conversion. "
        f"At most the newest {MAX_CONVERSIONS:,} conversions of the range are read."
    ),
    empty="No conversions through a click in this range.",
    reads_raw="clicks",
)
