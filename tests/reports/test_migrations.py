"""The rollup tables moved from tracking to reports with their rows."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from reports.models import DailyRollup, RollupDirtyDay, RollupWatermark

BEFORE_THE_MOVE = [("tracking", "0007_conversion_alias"), ("reports", None)]


@pytest.fixture
def before_the_move(transactional_db):
    """The database as it was before the move; the old models' apps. Migrated forward again afterwards."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    yield executor.loader.project_state(BEFORE_THE_MOVE[:1]).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_moving_the_rollups_to_reports_keeps_their_rows(workspace, before_the_move):
    old = before_the_move
    old.get_model("tracking", "DailyRollup").objects.create(
        workspace_id=workspace.id, day=date(2026, 1, 5), grain="total", clicks=7, sales="12.50"
    )
    old.get_model("tracking", "RollupWatermark").objects.create(pk=1, click_id=42)
    old.get_model("tracking", "RollupDirtyDay").objects.create(workspace_id=workspace.id, day=date(2026, 1, 6))

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    row = DailyRollup.objects.get(workspace=workspace)
    assert (row.day, row.grain, row.clicks, str(row.sales)) == (date(2026, 1, 5), "total", 7, "12.50")
    assert RollupWatermark.objects.get(pk=1).click_id == 42
    assert RollupDirtyDay.objects.get(workspace=workspace).day == date(2026, 1, 6)
    assert DailyRollup._meta.db_table == "reports_dailyrollup"
    # New rows get ids after the old ones: the table kept its id sequence.
    newer = DailyRollup.objects.create(workspace=workspace, day=date(2026, 1, 7))
    assert newer.pk > row.pk
