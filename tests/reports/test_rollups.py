from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from reports import rollups
from reports.filters import default_filters
from reports.models import DailyRollup, RollupDirtyDay, RollupWatermark
from reports.selectors import summary
from tests.reports.reportdata import at, build_report_world, make_click, make_conversion
from tracking.models import ConversionChange


def totals(workspace):
    return summary(workspace, default_filters(workspace))


def test_rebuild_counts_what_the_raw_rows_hold(workspace):
    build_report_world(workspace)
    days, rows = rollups.rebuild_rollups(workspace=workspace)
    assert days == 41
    assert rows > 0
    s = totals(workspace)
    assert (s["clicks"], s["unique_clicks"], s["bot_clicks"], s["off_state_clicks"]) == (9, 6, 1, 3)
    assert s["conversions"] == 4
    assert s["other_currency_conversions"] == 1
    assert (s["sales"], s["network_payout"], s["member_payout"]) == (
        Decimal("180.00"),
        Decimal("18.00"),
        Decimal("9.00"),
    )


def test_rebuild_is_repeatable(workspace):
    build_report_world(workspace)
    rollups.rebuild_rollups(workspace=workspace)
    first = sorted(
        DailyRollup.objects.filter(workspace=workspace).values_list("day", "clicks", "conversions", "status")
    )
    rollups.rebuild_rollups(workspace=workspace)
    again = sorted(
        DailyRollup.objects.filter(workspace=workspace).values_list("day", "clicks", "conversions", "status")
    )
    assert first == again


def test_test_members_and_test_conversions_are_left_out(workspace):
    world = build_report_world(workspace)
    make_conversion(workspace, member=world["ava"], offer=world["boots"], when=at(1), sale="7.00", source="test")
    rollups.rebuild_rollups(workspace=workspace)
    assert not DailyRollup.objects.filter(member=world["tess"]).exists()
    assert totals(workspace)["sales"] == Decimal("180.00")


def test_refresh_picks_up_new_clicks_and_status_changes(workspace):
    world = build_report_world(workspace)
    assert rollups.refresh_rollups_all_workspaces() > 0
    assert totals(workspace)["clicks"] == 9
    assert rollups.refresh_rollups_all_workspaces() == 0  # nothing new: nothing recomputed

    make_click(world["ava_boots"], at(0, 0, 5))
    conversion = world["ava"].conversions.get(status="pending")
    conversion.status = "rejected"
    conversion.save(update_fields=["status", "updated_at"])
    assert rollups.refresh_rollups_all_workspaces() >= 2
    s = totals(workspace)
    assert s["clicks"] == 10
    assert s["conversions"] == 3
    assert s["sales"] == Decimal("130.00")


def test_refresh_sees_a_change_written_without_updated_at(workspace):
    world = build_report_world(workspace)
    rollups.refresh_rollups_all_workspaces()
    conversion = world["ava"].conversions.get(status="pending")
    # A bulk update leaves updated_at alone; the change row still names the conversion.
    type(conversion).objects.filter(pk=conversion.pk).update(status="rejected")
    RollupWatermark.objects.filter(pk=1).update(conversion_updated_at=timezone.now() + timedelta(hours=1))
    ConversionChange.objects.create(
        workspace=workspace, conversion=conversion, source="manual", changes={"status": ["pending", "rejected"]}
    )
    rollups.refresh_rollups_all_workspaces()
    assert totals(workspace)["conversions"] == 3


def test_refresh_moves_a_conversion_whose_day_changed(workspace):
    world = build_report_world(workspace)
    rollups.refresh_rollups_all_workspaces()
    conversion = world["ben"].conversions.get()
    old = conversion.event_at
    conversion.event_at = at(60)
    conversion.save(update_fields=["event_at", "updated_at"])
    ConversionChange.objects.create(
        workspace=workspace,
        conversion=conversion,
        source="api_sync",
        changes={"event_at": [old.isoformat(), conversion.event_at.isoformat()]},
    )
    rollups.refresh_rollups_all_workspaces()
    assert totals(workspace)["conversions"] == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.celery_worker
def test_the_beat_task_refreshes_rollups_in_a_real_worker(celery_worker_process, workspace):
    from reports.tasks import refresh_rollups
    from tests.conftest import wait_for

    build_report_world(workspace)
    refresh_rollups.delay()
    assert wait_for(lambda: DailyRollup.objects.filter(workspace=workspace).exists(), timeout=30)
    assert wait_for(lambda: totals(workspace)["clicks"] == 9, timeout=10)


def test_every_grain_adds_up_to_the_same_totals(workspace):
    from django.db.models import Sum

    build_report_world(workspace)
    rollups.rebuild_rollups(workspace=workspace)
    sums = {
        grain: DailyRollup.objects.filter(workspace=workspace, grain=grain).aggregate(
            c=Sum("clicks"), u=Sum("unique_clicks"), n=Sum("conversions"), s=Sum("sales"), p=Sum("member_payout")
        )
        for grain in ("link", "member", "offer", "total")
    }
    assert sums["link"] == sums["member"] == sums["offer"] == sums["total"]
    assert sums["total"]["c"] == 10  # includes the click 40 days ago
    # The total grain has one row per day, status and currency.
    assert not DailyRollup.objects.filter(workspace=workspace, grain="total", member__isnull=False).exists()


def test_a_backlog_is_worked_off_over_several_runs(workspace):
    build_report_world(workspace)
    assert rollups.refresh_rollups_all_workspaces(budget_seconds=0) == 0
    assert RollupDirtyDay.objects.filter(workspace=workspace).count() == 3  # days -40, -2 and -1
    assert rollups.recompute_dirty_days_all_workspaces(budget_seconds=60) == 3
    assert not RollupDirtyDay.objects.exists()
    assert totals(workspace)["clicks"] == 9


def test_a_day_marked_again_while_recomputing_stays_marked(workspace):
    world = build_report_world(workspace)
    rollups.mark_dirty_days_all_workspaces()
    dirty = RollupDirtyDay.objects.order_by("-day").first()  # yesterday, where the late click lands
    original = rollups.recompute_rollups

    arrived = []

    def recompute_while_a_click_arrives(**kwargs):
        original(**kwargs)
        if not arrived and kwargs["start"] == dirty.day:
            arrived.append(make_click(world["ava_boots"], at(1, 23)))
            rollups.mark_dirty_days_all_workspaces()

    try:
        rollups.recompute_rollups = recompute_while_a_click_arrives
        rollups.recompute_dirty_days_all_workspaces(budget_seconds=60)
    finally:
        rollups.recompute_rollups = original
    # The day was marked again while it was recomputed, so it was not cleared then but
    # recomputed once more: the late click is counted.
    assert dirty.day == arrived[0].created_at.date()
    assert not RollupDirtyDay.objects.exists()
    assert totals(workspace)["clicks"] == 10
