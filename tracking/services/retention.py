"""What tracking keeps, and for how long (``manage.py prune`` and the daily beat task).

- Postback log: POSTBACK_LOG_RETENTION_DAYS (180 by default). A hit's row is its audit
  trail; its effect lives on in the conversion, its history and the ledger. Conversion
  history rows and replays that pointed at a pruned hit keep their own rows, with the
  reference cleared.
- Clicks: CLICK_RETENTION_DAYS (400 by default), and never fewer than the longest
  attribution window of any offer plus LATE_REPORT_DAYS, so a late postback still finds its
  click. A click that a conversion points at is kept whatever its age. Report figures of
  pruned days stay in the rollups: ``tracking.selectors.clicks_pruned_before`` tells the rollup recompute
  which days' click figures it can no longer rebuild (reports/rollups.py).
- Conversion events: CONVERSION_EVENT_RETENTION_DAYS (0, kept forever, by default). On
  PostgreSQL only, a month goes when every event in it was posted to the ledger and every
  outbox reader has moved past it.
- Rollups, conversions, their history and the ledger are never pruned.

On PostgreSQL a month wholly past its retention is dropped as a partition
(tracking/partitions.py); what remains past it (the default partition, the month the
cut-off falls in, or every row on SQLite) is deleted a batch at a time, each batch in its
own short transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from offers.models import Offer
from tracking import partitions
from tracking.models import Click, Conversion, ConversionChange, ConversionEvent, PostbackLog, RetentionHorizon
from tracking.selectors import postback_log_cutoff
from workspaces.models import OutboxCursor

BATCH = 5000
# How long after a click's attribution window a network may still report its sale.
LATE_REPORT_DAYS = 90


@dataclass
class Pruned:
    """What one prune run removed, per table: (rows removed, months dropped), or None where
    that table's retention is off; ``clicks_before`` is the clicks' cut-off."""

    postback_log: tuple[int, int] | None
    clicks: tuple[int, int] | None
    clicks_before: datetime | None
    conversion_events: tuple[int, int] | None

    def as_dict(self) -> dict:
        return {**asdict(self), "clicks_before": self.clicks_before.isoformat() if self.clicks_before else None}


def prune(
    *, log_days: int | None = None, click_days: int | None = None, event_days: int | None = None, now=None
) -> Pruned:
    """Apply every table's retention; each ``*_days`` overrides its setting for this run."""
    now = now or timezone.now()
    log_on = postback_log_cutoff(days=log_days, now=now) is not None
    clicks_before = click_cutoff(days=click_days, now=now)
    events_days = settings.CONVERSION_EVENT_RETENTION_DAYS if event_days is None else event_days
    return Pruned(
        postback_log=prune_postback_log(days=log_days, now=now) if log_on else None,
        clicks=prune_clicks(days=click_days, now=now) if clicks_before is not None else None,
        clicks_before=clicks_before,
        conversion_events=prune_conversion_events(days=events_days, now=now) if events_days > 0 else None,
    )


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _old_months(table: str, before: datetime) -> list[partitions.Month]:
    if not partitions.supported() or not partitions.is_partitioned(table):
        return []
    return [m for m in partitions.months(table) if m.end <= before]


def _delete_rows(model, column: str, before: datetime, batch: int, *, keep=None, clear=()) -> int:
    """Delete ``model`` rows with ``column`` before ``before``, ``batch`` at a time; returns how many.

    ``keep`` (a Q) spares rows; each (model, field) of ``clear`` names a reference to the rows
    that is set to NULL first. The DELETE names the time column as well as the ids, so on
    PostgreSQL it reaches only the partitions that can hold such rows.
    """
    old = model.objects.filter(**{f"{column}__lt": before})
    if keep is not None:
        old = old.exclude(keep)
    table, time_column = _q(model._meta.db_table), _q(column)
    removed = 0
    while ids := list(old.values_list("id", flat=True)[:batch]):
        with transaction.atomic():
            for other, field in clear:
                other.objects.filter(**{f"{field}_id__in": ids}).update(**{field: None})
            with connection.cursor() as cursor:
                marks = ", ".join(["%s"] * len(ids))
                cursor.execute(f"DELETE FROM {table} WHERE {time_column} < %s AND id IN ({marks})", [before, *ids])
                removed += cursor.rowcount
    return removed


# --- Postback log ----------------------------------------------------------------------


def prune_postback_log(*, days: int | None = None, now: datetime | None = None, batch: int = BATCH) -> tuple[int, int]:
    """Remove postback log rows older than ``days`` (default POSTBACK_LOG_RETENTION_DAYS).

    Returns (rows removed, months dropped).
    """
    before = postback_log_cutoff(days=days, now=now)
    if before is None:
        return 0, 0
    removed = dropped = 0
    log, change = _q(PostbackLog._meta.db_table), _q(ConversionChange._meta.db_table)
    for month in _old_months(PostbackLog._meta.db_table, before):
        held, _ = partitions.drop_month(
            month,
            before_drop=(
                f"UPDATE {change} SET postback_id = NULL WHERE postback_id IN (SELECT id FROM {{month}})",
                f"UPDATE {log} SET replay_of_id = NULL WHERE replay_of_id IN (SELECT id FROM {{month}})",
            ),
        )
        removed += held
        dropped += 1
    # The rest: the default partition and the month the cut-off falls in (every row on SQLite).
    removed += _delete_rows(
        PostbackLog, "received_at", before, batch, clear=((ConversionChange, "postback"), (PostbackLog, "replay_of"))
    )
    return removed, dropped


# --- Clicks ----------------------------------------------------------------------------


def click_cutoff(*, days: int | None = None, now: datetime | None = None) -> datetime | None:
    """The instant before which clicks may go, or None when clicks are kept forever."""
    days = settings.CLICK_RETENTION_DAYS if days is None else days
    if days <= 0:
        return None
    window = Offer.objects.aggregate(m=Max("attribution_window_days"))["m"] or 0
    return (now or timezone.now()) - timedelta(days=max(days, window + LATE_REPORT_DAYS))


def prune_clicks(*, days: int | None = None, now: datetime | None = None, batch: int = BATCH) -> tuple[int, int]:
    """Remove clicks older than the cut-off that no conversion points at.

    Returns (clicks removed, months dropped). A dropped month's converted clicks are put
    back first (they land in the default partition); then the horizon moves forward.
    """
    before = click_cutoff(days=days, now=now)
    if before is None:
        return 0, 0
    removed = dropped = 0
    conversion = _q(Conversion._meta.db_table)
    for month in _old_months(Click._meta.db_table, before):
        held, kept = partitions.drop_month(
            month, keep_where=f"EXISTS (SELECT 1 FROM {conversion} c WHERE c.click_id = m.id)"
        )
        removed += held - kept
        dropped += 1
    converted = Q(id__in=Conversion.objects.filter(click_id__isnull=False).values("click_id"))
    removed += _delete_rows(Click, "created_at", before, batch, keep=converted)
    _move_horizon(Click._meta.db_table, before)
    return removed, dropped


def _move_horizon(table: str, before: datetime) -> None:
    with transaction.atomic():
        horizon, _ = RetentionHorizon.objects.select_for_update().get_or_create(
            table=table, defaults={"pruned_before": before}
        )
        if before > horizon.pruned_before:
            horizon.pruned_before = before
            horizon.save(update_fields=["pruned_before", "updated_at"])


# --- Conversion events -----------------------------------------------------------------


def prune_conversion_events(*, days: int | None = None, now: datetime | None = None) -> tuple[int, int]:
    """Drop months of conversion events past CONVERSION_EVENT_RETENTION_DAYS (PostgreSQL only).

    A month goes only when none of its events waits for the ledger and every outbox
    reader's cursor is past its last writing transaction (cursors of other outboxes
    count too, which can only keep a month longer). Returns (events removed, months dropped).
    """
    days = settings.CONVERSION_EVENT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0, 0
    before = (now or timezone.now()) - timedelta(days=days)
    months = _old_months(ConversionEvent._meta.db_table, before)
    if not months:
        return 0, 0
    readers_at = OutboxCursor.objects.aggregate(m=Min("txid"))["m"]
    removed = dropped = 0
    for month in months:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FILTER (WHERE processed_at IS NULL), max(txid) FROM {_q(month.name)}")
            waiting, last_txid = cursor.fetchone()
        if waiting or (last_txid is not None and readers_at is not None and readers_at <= last_txid):
            break  # months go oldest first: a newer month never goes before an older one
        held, _ = partitions.drop_month(month)
        removed += held
        dropped += 1
    return removed, dropped
