"""Rollup maintenance: the daily rows the reports read, rebuilt from tracking's raw rows.

Rows of a day are rebuilt from raw clicks and conversions by ``recompute_rollups``.
``refresh_rollups_all_workspaces`` (the minute beat task) finds the days that changed
since its last run and recomputes them; ``rebuild_rollups`` (the ``rebuildrollups``
command, the demo and the nightly safety net) rebuilds stretches of history.

Tracking knows nothing of reports, and nothing in tracking calls in here. The refresh
finds changed days by reading what tracking writes anyway, past a watermark
(``RollupWatermark``): new clicks by id, the conversion outbox (``ConversionEvent``, one
row per status or amount change, written in the same transaction as the change),
conversion history rows (``ConversionChange``, which also name the old day when a
conversion's ``event_at`` moved) and conversions saved since the last run
(``updated_at``). So imports point one way, reports -> tracking, and a change that
tracking records is never missed: it is in those tables before it is committed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from time import monotonic

from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from reports.models import DailyRollup, RollupDirtyDay, RollupWatermark
from tracking.models import Click, Conversion, ConversionChange, ConversionEvent
from tracking.selectors import clicks_pruned_before
from workspaces.dates import day_bounds
from workspaces.models import Workspace

ZERO = Decimal("0.00")


def recompute_rollups(*, workspace_id: int, start: date, end: date) -> int:
    """Replace the rollup rows of days ``start``..``end`` (inclusive) of one workspace.

    1. Delete the days' rows.
    2. Aggregate the days' clicks by day, offer, member, project and connection.
    3. Aggregate the days' conversions by the same dimensions plus status and currency.
    4. Insert the groups.
    All in one transaction: readers see the old rows until the new ones are committed.
    Days whose clicks were pruned (tracking's click retention) keep their click rows: only
    their conversion rows are recomputed.
    """
    tz = timezone.get_default_timezone()
    lo, hi = day_bounds(start, end)
    clicks_from = _first_day_with_all_clicks(tz)
    clicks_lo = lo if clicks_from is None or clicks_from <= start else max(lo, day_bounds(clicks_from, clicks_from)[0])
    clicks = (
        Click.objects.filter(workspace_id=workspace_id, created_at__gte=clicks_lo, created_at__lt=hi)
        .exclude(member__is_test=True)
        .annotate(d=TruncDate("created_at", tzinfo=tz))
        .values("d", "offer_id", "member_id", "member__project_id", "offer__connection_id")
        .annotate(
            n=Count("id", filter=Q(is_bot=False)),
            unique=Count("id", filter=Q(is_bot=False, is_unique=True)),
            bots=Count("id", filter=Q(is_bot=True)),
            off=Count("id", filter=Q(is_bot=False) & ~Q(offer_state="active")),
        )
        .order_by()
    )
    conversions = (
        Conversion.objects.filter(workspace_id=workspace_id, event_at__gte=lo, event_at__lt=hi)
        .exclude(source="test")
        .exclude(member__is_test=True)
        .annotate(d=TruncDate("event_at", tzinfo=tz))
        .values("d", "offer_id", "member_id", "member__project_id", "connection_id", "status", "currency")
        .annotate(
            n=Count("id"),
            sales=Coalesce(Sum("sale_amount"), ZERO),
            np=Coalesce(Sum("network_payout"), ZERO),
            mp=Coalesce(Sum("member_payout"), ZERO),
        )
        .order_by()
    )
    groups: dict[tuple, list] = {}

    def add(key: tuple, values: tuple) -> None:
        # key: (day, offer, member, project, connection, status, currency); values: 4 counts + 4 sums
        for grain, k in (
            ("link", key),
            ("member", (key[0], None, key[2], key[3], None, key[5], key[6])),
            ("offer", (key[0], key[1], None, None, key[4], key[5], key[6])),
            ("total", (key[0], None, None, None, None, key[5], key[6])),
        ):
            current = groups.get((grain, *k))
            if current is None:
                groups[(grain, *k)] = list(values)
            else:
                for i, v in enumerate(values):
                    current[i] += v

    for r in clicks.iterator(chunk_size=5000):
        key = (r["d"], r["offer_id"], r["member_id"], r["member__project_id"], r["offer__connection_id"], "", "")
        add(key, (r["n"], r["unique"], r["bots"], r["off"], 0, ZERO, ZERO, ZERO))
    for r in conversions.iterator(chunk_size=5000):
        key = (
            r["d"],
            r["offer_id"],
            r["member_id"],
            r["member__project_id"],
            r["connection_id"],
            r["status"],
            r["currency"],
        )
        add(key, (0, 0, 0, 0, r["n"], r["sales"], r["np"], r["mp"]))
    rows = (
        DailyRollup(
            workspace_id=workspace_id,
            grain=grain,
            day=day,
            offer_id=offer_id,
            member_id=member_id,
            project_id=project_id,
            connection_id=connection_id,
            status=status,
            currency=currency,
            clicks=v[0],
            unique_clicks=v[1],
            bot_clicks=v[2],
            off_state_clicks=v[3],
            conversions=v[4],
            sales=v[5],
            network_payout=v[6],
            member_payout=v[7],
        )
        for (grain, day, offer_id, member_id, project_id, connection_id, status, currency), v in groups.items()
    )
    with transaction.atomic():
        stale = DailyRollup.objects.filter(workspace_id=workspace_id, day__gte=start, day__lte=end)
        if clicks_from is not None and clicks_from > start:
            stale = stale.exclude(day__lt=clicks_from, status="")  # click rows of pruned days stay
        stale.delete()
        DailyRollup.objects.bulk_create(rows, batch_size=2000)
    return len(groups)


def _first_day_with_all_clicks(tz) -> date | None:
    """The first day whose clicks are all still stored, or None when no click was ever pruned."""
    before = clicks_pruned_before()
    if before is None:
        return None
    local = before.astimezone(tz)
    day = local.date()
    return day if local == day_bounds(day, day)[0] else day + timedelta(days=1)


def rebuild_rollups(*, workspace: Workspace, since: date | None = None, window_days: int = 7) -> tuple[int, int]:
    """Rebuild a workspace's rollups from ``since`` (default: its first activity) to today.

    Works in windows of a few days so that no transaction holds a long stretch
    of history. Returns (days, rows written).
    """
    tz = timezone.get_default_timezone()
    today = timezone.localdate()
    if since is None:
        firsts = [
            Click.objects.filter(workspace=workspace)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first(),
            Conversion.objects.filter(workspace=workspace)
            .order_by("event_at")
            .values_list("event_at", flat=True)
            .first(),
            DailyRollup.objects.filter(workspace=workspace).order_by("day").values_list("day", flat=True).first(),
        ]
        days = [v.astimezone(tz).date() if isinstance(v, datetime) else v for v in firsts if v is not None]
        if not days:
            return 0, 0
        since = min(days)
    last = max(today, since)
    # Rows dated after today (clock skew, imported future dates) are rebuilt too.
    future = DailyRollup.objects.filter(workspace=workspace, day__gt=today).aggregate(m=Max("day"))["m"]
    future_conv = Conversion.objects.filter(workspace=workspace, event_at__gte=day_bounds(today, today)[1]).aggregate(
        m=Max("event_at")
    )["m"]
    for v in (future, future_conv.astimezone(tz).date() if future_conv else None):
        if v is not None and v > last:
            last = v
    written = 0
    day = since
    while day <= last:
        end = min(day + timedelta(days=window_days - 1), last)
        written += recompute_rollups(workspace_id=workspace.id, start=day, end=end)
        day = end + timedelta(days=1)
    return (last - since).days + 1, written


# How far below each watermark a refresh looks again: ids are handed out before
# their transactions commit, so a row with a lower id can appear after a higher one.
ID_OVERLAP = 5000
TIME_OVERLAP = timedelta(minutes=5)


def refresh_rollups_all_workspaces(*, budget_seconds: float = 200) -> int:
    """The beat task's work: mark the days touched since the last run, then recompute
    marked days until the time budget is spent (the rest waits for the next run).
    Returns the number of days recomputed."""
    mark_dirty_days_all_workspaces()
    return recompute_dirty_days_all_workspaces(budget_seconds=budget_seconds)


def _latest_marks() -> dict:
    return {
        "click_id": Click.objects.aggregate(m=Max("id"))["m"] or 0,
        "event_id": ConversionEvent.objects.aggregate(m=Max("id"))["m"] or 0,
        "change_id": ConversionChange.objects.aggregate(m=Max("id"))["m"] or 0,
        "conversion_updated_at": Conversion.objects.aggregate(m=Max("updated_at"))["m"],
    }


def _advance(mark: RollupWatermark, latest: dict) -> None:
    mark.click_id = max(mark.click_id, latest["click_id"])
    mark.event_id = max(mark.event_id, latest["event_id"])
    mark.change_id = max(mark.change_id, latest["change_id"])
    newest = latest["conversion_updated_at"]
    if newest is not None and (mark.conversion_updated_at is None or newest > mark.conversion_updated_at):
        mark.conversion_updated_at = newest
    mark.refreshed_at = timezone.now()
    mark.save()


def mark_dirty_days_all_workspaces() -> int:
    """Mark the (workspace, day) pairs touched since the watermark and advance it.

    A day is touched by a new click, a conversion saved since the last run
    (``updated_at``), a new conversion event (status and amount changes) or a new
    conversion change (which also names the old day when ``event_at`` moved). The
    watermark row is locked, so two runs never interleave. Returns the pairs marked.
    """
    tz = timezone.get_default_timezone()
    with transaction.atomic():
        RollupWatermark.objects.get_or_create(pk=1)
        mark = RollupWatermark.objects.select_for_update().get(pk=1)
        latest = _latest_marks()
        touched: set[tuple[int, date]] = set()
        if latest["click_id"] > mark.click_id:
            touched |= _days(Click.objects.filter(id__gt=max(mark.click_id - ID_OVERLAP, 0)), "created_at", tz)
        if latest["event_id"] > mark.event_id:
            ids = ConversionEvent.objects.filter(id__gt=max(mark.event_id - ID_OVERLAP, 0)).values("conversion_id")
            touched |= _days(Conversion.objects.filter(id__in=ids), "event_at", tz)
        if latest["change_id"] > mark.change_id:
            changes = ConversionChange.objects.filter(id__gt=max(mark.change_id - ID_OVERLAP, 0))
            touched |= _days(Conversion.objects.filter(id__in=changes.values("conversion_id")), "event_at", tz)
            for workspace_id, diff in changes.exclude(changes={}).values_list("workspace_id", "changes").iterator():
                touched |= _moved_days(workspace_id, diff, tz)
        newest = latest["conversion_updated_at"]
        if newest is not None and (mark.conversion_updated_at is None or newest > mark.conversion_updated_at):
            qs = Conversion.objects.all()
            if mark.conversion_updated_at is not None:
                qs = qs.filter(updated_at__gte=mark.conversion_updated_at - TIME_OVERLAP)
            touched |= _days(qs, "event_at", tz)
        now = timezone.now()
        # Marking again bumps marked_at, so a recompute already running will not clear the day.
        RollupDirtyDay.objects.bulk_create(
            [RollupDirtyDay(workspace_id=w, day=d, marked_at=now) for w, d in touched],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["workspace", "day"],
            update_fields=["marked_at"],
        )
        _advance(mark, latest)
    return len(touched)


def recompute_dirty_days_all_workspaces(*, budget_seconds: float = 200) -> int:
    """Recompute marked days, one per transaction, oldest first, until none is left or
    the budget is spent. Concurrent workers skip each other's locked days."""
    deadline = monotonic() + budget_seconds
    done = 0
    while monotonic() < deadline:
        with transaction.atomic():
            dirty = RollupDirtyDay.objects.select_for_update(skip_locked=True).order_by("day", "id").first()
            if dirty is None:
                break
            recompute_rollups(workspace_id=dirty.workspace_id, start=dirty.day, end=dirty.day)
            RollupDirtyDay.objects.filter(pk=dirty.pk, marked_at=dirty.marked_at).delete()
        done += 1
    return done


def rebuild_rollups_all_workspaces() -> tuple[int, int, int]:
    """Rebuild every workspace's history; afterwards the refresh starts from here.

    The watermark is taken before the rebuild starts, so rows that arrive meanwhile
    are still picked up by the next refresh. Returns (workspaces, days, rows).
    """
    latest = _latest_marks()
    count = days = rows = 0
    for workspace in Workspace.objects.order_by("id").iterator():
        d, r = rebuild_rollups(workspace=workspace)
        count, days, rows = count + 1, days + d, rows + r
    with transaction.atomic():
        RollupWatermark.objects.get_or_create(pk=1)
        _advance(RollupWatermark.objects.select_for_update().get(pk=1), latest)
    return count, days, rows


def _days(qs, field: str, tz) -> set[tuple[int, date]]:
    rows = qs.annotate(d=TruncDate(field, tzinfo=tz)).values_list("workspace_id", "d").distinct().order_by()
    return set(rows)


def _moved_days(workspace_id: int, diff: dict, tz) -> set[tuple[int, date]]:
    """Days named by an ``event_at`` change ([old, new] ISO strings)."""
    found = set()
    values = diff.get("event_at") if isinstance(diff, dict) else None
    if not isinstance(values, list | tuple):
        return found
    for value in values:
        try:
            when = datetime.fromisoformat(str(value))
        except ValueError:
            continue
        if timezone.is_naive(when):
            when = timezone.make_aware(when, tz)
        found.add((workspace_id, when.astimezone(tz).date()))
    return found


def rebuild_recent_rollups_all_workspaces(days: int = 3) -> int:
    """Safety net: rebuild the last few days everywhere (catches anything the refresh missed)."""
    since = timezone.localdate() - timedelta(days=days - 1)
    count = 0
    for workspace in Workspace.objects.all().iterator():
        rebuild_rollups(workspace=workspace, since=since)
        count += 1
    return count
