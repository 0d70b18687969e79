"""Monthly partitions (tracking/partitions.py) and the retention of clicks, log rows and events.

The test database is migrated, so on PostgreSQL the three tables are partitioned here
exactly as in production. Tests marked ``postgres`` look at partitions; the others hold
on SQLite too, where retention deletes rows.
"""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from reports.models import DailyRollup
from reports.rollups import recompute_rollups
from tests.tracking.postback_world import make_click, make_world
from tracking import partitions
from tracking.models import Click, Conversion, ConversionChange, ConversionEvent, PostbackLog
from tracking.selectors import clicks_pruned_before
from tracking.services import retention
from workspaces.models import OutboxCursor

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
OLD = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # well past every default retention


@pytest.fixture
def world(workspace):
    return make_world(workspace, kind="impact")


def hit(client, world, query):
    return client.get(f"/postback/impact/{world['connection'].postback_secret}?{query}")


def partition_of(table: str, row_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [row_id])
        return cursor.fetchone()[0]


def exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def make_old_month(table: str, when: datetime = OLD) -> str:
    with connection.cursor() as cursor:
        partitions.create_month(cursor, table, partitions.month_start(when))
    return partitions.partition_name(table, partitions.month_start(when))


# --- Partitions ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_three_tables_are_partitioned_with_months_ahead_and_a_default():
    for table in partitions.PARTITIONED:
        assert partitions.is_partitioned(table)
        assert exists(f"{table}_default")
    created = partitions.ensure_partitions(now=NOW)
    assert partitions.ensure_partitions(now=NOW) == []  # nothing twice
    names = {m.name for m in partitions.months("tracking_click")}
    assert {"tracking_click_p202612", "tracking_click_p202701", "tracking_click_p202703"} <= names
    attached = {m.name for table in partitions.PARTITIONED for m in partitions.months(table)}
    assert set(created) <= attached


@pytest.mark.postgres
def test_a_row_with_no_month_lands_in_the_default_and_moves_when_its_month_is_made(world):
    far = datetime(2031, 5, 17, tzinfo=UTC)
    click = make_click(world["link"])
    Click.objects.filter(id=click.id).update(created_at=far)
    assert partition_of("tracking_click", click.id) == "tracking_click_default"

    created = partitions.ensure_partitions(now=far, ahead=0)

    assert "tracking_click_p203105" in created
    assert partition_of("tracking_click", click.id) == "tracking_click_p203105"
    moved = Click.objects.get(id=click.id)
    assert (moved.transaction_id, moved.created_at) == (click.transaction_id, far)


@pytest.mark.django_db
def test_a_click_stored_twice_with_its_moment_meets_the_same_key(world):
    click = make_click(world["link"])
    fields = {f: getattr(click, f) for f in ("workspace", "link", "offer", "member", "transaction_id", "created_at")}
    with pytest.raises(IntegrityError), transaction.atomic():
        Click.objects.create(**fields)


@pytest.mark.postgres
@pytest.mark.django_db
def test_partitions_command_creates_and_lists_months():
    out = StringIO()
    call_command("partitions", stdout=out)
    text = out.getvalue()
    for table in partitions.PARTITIONED:
        assert f"{table}: " in text and "in its default partition" in text


# --- Postback log ----------------------------------------------------------------------


@pytest.mark.postgres
def test_an_old_month_of_the_log_is_dropped_whole_and_references_to_it_are_cleared(client, world, settings):
    name = make_old_month("tracking_postbacklog")
    hit(client, world, f"subid1={world['click'].transaction_id}&action_id=1&amount=5.00")
    hit(client, world, f"subid1={world['click'].transaction_id}&action_id=1&amount=6.00")  # an update
    old = PostbackLog.objects.order_by("id").first()
    PostbackLog.objects.filter(id=old.id).update(received_at=OLD)
    assert partition_of("tracking_postbacklog", old.id) == name
    change = ConversionChange.objects.create(
        workspace=old.workspace, conversion=Conversion.objects.get(), source="postback", postback=old
    )
    replay = PostbackLog.objects.create(
        workspace=old.workspace, network="impact", method="GET", outcome="duplicate", replay_of=old
    )

    removed, months = retention.prune_postback_log(now=NOW)

    assert (removed, months) == (1, 1)
    assert not exists(name)
    assert not PostbackLog.objects.filter(id=old.id).exists()
    change.refresh_from_db()
    replay.refresh_from_db()
    assert (change.postback_id, replay.replay_of_id) == (None, None)
    assert PostbackLog.objects.count() == 2
    assert Conversion.objects.count() == 1


# --- Clicks ----------------------------------------------------------------------------


def old_clicks(world, n: int) -> list[Click]:
    clicks = [make_click(world["link"]) for _ in range(n)]
    Click.objects.filter(id__in=[c.id for c in clicks]).update(created_at=OLD)
    return clicks


@pytest.mark.django_db
def test_old_clicks_go_but_a_converted_click_is_kept_and_the_horizon_moves(client, world):
    if partitions.supported():
        make_old_month("tracking_click")
    converted, *others = old_clicks(world, 3)
    hit(client, world, f"subid1={converted.transaction_id}&action_id=9&amount=20.00")
    conversion = Conversion.objects.get(external_id="9")
    assert conversion.click_id == converted.id
    recent = make_click(world["link"])

    removed, months = retention.prune_clicks(now=NOW)

    assert removed == 2
    assert months == (1 if partitions.supported() else 0)
    assert set(Click.objects.values_list("id", flat=True)) >= {converted.id, recent.id, world["click"].id}
    assert not Click.objects.filter(id__in=[c.id for c in others]).exists()
    conversion.refresh_from_db()
    assert conversion.click.transaction_id == converted.transaction_id
    assert Click.objects.get(id=converted.id).created_at == OLD
    assert clicks_pruned_before() == NOW - timedelta(days=400)
    if partitions.supported():
        assert partition_of("tracking_click", converted.id) == "tracking_click_default"
        assert not exists(partitions.partition_name("tracking_click", partitions.month_start(OLD)))


@pytest.mark.django_db
def test_clicks_inside_the_longest_attribution_window_are_kept_whatever_the_setting(world):
    world["offer"].attribution_window_days = 600
    world["offer"].save()
    (click,) = old_clicks(world, 1)  # 635 days before NOW: inside 600 + 90

    assert retention.click_cutoff(days=30, now=NOW) == NOW - timedelta(days=690)
    assert retention.prune_clicks(days=30, now=NOW) == (0, 0)
    assert Click.objects.filter(id=click.id).exists()


@pytest.mark.django_db
def test_click_retention_of_0_keeps_every_click(world, settings):
    settings.CLICK_RETENTION_DAYS = 0
    old_clicks(world, 2)
    out = StringIO()
    call_command("prune", stdout=out)
    assert "Click retention is off (0 days): no clicks pruned." in out.getvalue()
    assert Click.objects.count() == 3
    assert clicks_pruned_before() is None


@pytest.mark.django_db
def test_rollups_keep_the_click_figures_of_pruned_days_and_recompute_their_conversions(client, world):
    converted, other = old_clicks(world, 2)
    hit(client, world, f"subid1={converted.transaction_id}&action_id=9&amount=20.00")
    Conversion.objects.update(event_at=OLD)
    day = OLD.astimezone(timezone.get_default_timezone()).date()
    recompute_rollups(workspace_id=world["link"].workspace_id, start=day, end=day)
    total = DailyRollup.objects.filter(grain="total", day=day)
    assert total.get(status="").clicks == 2
    assert total.get(status="pending").sales == 20

    retention.prune_clicks(now=NOW)
    assert not Click.objects.filter(id=other.id).exists()
    Conversion.objects.update(sale_amount=25)
    recompute_rollups(workspace_id=world["link"].workspace_id, start=day, end=day)

    assert total.get(status="").clicks == 2  # not 1: the pruned click's figure stays
    assert total.get(status="pending").sales == 25
    assert DailyRollup.objects.filter(day=day, status="").count() == 4  # one per grain, not doubled


# --- Conversion events -----------------------------------------------------------------


@pytest.mark.postgres
def test_a_month_of_events_goes_only_when_posted_and_read_past(client, world, settings):
    name = make_old_month("tracking_conversionevent")
    hit(client, world, f"subid1={world['click'].transaction_id}&action_id=1&amount=5.00")
    ConversionEvent.objects.update(created_at=OLD)
    assert retention.prune_conversion_events(days=0, now=NOW) == (0, 0)  # kept forever by default

    assert retention.prune_conversion_events(days=90, now=NOW) == (0, 0)  # not posted to the ledger yet
    ConversionEvent.objects.update(processed_at=NOW)
    top = ConversionEvent.objects.order_by("-txid").values_list("txid", flat=True).first()
    cursor = OutboxCursor.objects.create(consumer="a-reader", txid=top, position=0)
    assert retention.prune_conversion_events(days=90, now=NOW) == (0, 0)  # a reader has not passed it

    cursor.txid = top + 1
    cursor.save()
    assert retention.prune_conversion_events(days=90, now=NOW) == (1, 1)
    assert not exists(name)
    assert Conversion.objects.count() == 1


@pytest.mark.django_db
def test_the_daily_task_applies_every_table_and_says_what_it_removed(client, world, settings):
    from tracking import tasks

    old_clicks(world, 2)
    hit(client, world, f"subid1={world['click'].transaction_id}&action_id=1&amount=5.00")
    PostbackLog.objects.update(received_at=OLD)
    result = tasks.prune()
    assert result["postback_log"] == (1, 0)
    assert result["clicks"] == (2, 0)  # in the default partition: no month was made for them
    assert result["clicks_before"] is not None
    assert result["conversion_events"] is None  # kept forever by default
    assert PostbackLog.objects.count() == 0 and Click.objects.count() == 1
