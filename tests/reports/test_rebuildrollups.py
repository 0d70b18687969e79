from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from reports.filters import default_filters
from reports.models import DailyRollup
from reports.rollups import refresh_rollups_all_workspaces
from reports.selectors import summary
from tests.reports.reportdata import build_report_world


def totals(workspace):
    return summary(workspace, default_filters(workspace))


def test_the_command_rebuilds_one_workspace_since_a_day(workspace, other_workspace, capsys):
    build_report_world(workspace)
    build_report_world(other_workspace)
    since = (timezone.localdate() - timedelta(days=5)).isoformat()
    call_command("rebuildrollups", "--workspace", workspace.slug, "--since", since)
    out = capsys.readouterr().out
    assert "in 1 workspace(s)" in out
    assert totals(workspace)["clicks"] == 9
    assert not DailyRollup.objects.filter(workspace=other_workspace).exists()
    # The old click (40 days ago) was before --since.
    assert not DailyRollup.objects.filter(
        workspace=workspace, day__lt=timezone.localdate() - timedelta(days=5)
    ).exists()


def test_the_command_rejects_bad_arguments(workspace):
    with pytest.raises(CommandError, match="--since"):
        call_command("rebuildrollups", "--since", "yesterday")
    with pytest.raises(CommandError, match="No workspace"):
        call_command("rebuildrollups", "--workspace", "nope")


def test_a_full_rebuild_moves_the_watermark(workspace, capsys):
    build_report_world(workspace)
    call_command("rebuildrollups")
    assert "in 1 workspace(s)" in capsys.readouterr().out
    assert totals(workspace)["clicks"] == 9
    assert refresh_rollups_all_workspaces() == 0  # nothing new since the rebuild
