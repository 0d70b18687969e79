"""Postback log retention: `manage.py prune` and the daily task delete rows past POSTBACK_LOG_RETENTION_DAYS.

Whole months dropped as partitions, clicks and conversion events: tests/tracking/test_partitions.py."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.tracking.postback_world import make_world
from tracking.models import Conversion, PostbackLog
from tracking.services.retention import prune_postback_log


@pytest.fixture
def world(workspace):
    return make_world(workspace, kind="impact")


def hit(client, world, query):
    return client.get(f"/postback/impact/{world['connection'].postback_secret}?{query}")


def age(days: int) -> None:
    PostbackLog.objects.update(received_at=timezone.now() - timedelta(days=days))


def test_prune_deletes_old_rows_in_every_workspace_and_keeps_recent_ones_and_conversions(
    client, world, other_workspace, settings
):
    other = make_world(other_workspace, kind="impact")
    hit(client, world, f"subid1={world['click'].transaction_id}&action_id=1&amount=5.00")
    hit(client, other, f"subid1={other['click'].transaction_id}&action_id=1&amount=5.00")
    client.get("/postback/impact/unknown-secret-0000000000000000?x=1")  # no workspace
    age(181)
    hit(client, world, f"subid1={world['click'].transaction_id}&action_id=1&amount=5.00")  # a retry, today
    out = StringIO()
    call_command("prune", stdout=out)
    assert "Deleted 3 postback log row(s) older than 180 days (0 month(s) dropped)." in out.getvalue()
    assert list(PostbackLog.objects.values_list("outcome", flat=True)) == ["duplicate"]
    assert Conversion.objects.count() == 2


def test_a_replay_of_a_pruned_row_keeps_its_own_row(client, world, settings):
    hit(client, world, f"subid1={world['click'].transaction_id}&amount=5.00")
    original = PostbackLog.objects.get()
    age(200)
    replay = PostbackLog.objects.create(
        workspace=original.workspace, network="impact", method="GET", outcome="duplicate", replay_of=original
    )
    assert prune_postback_log(batch=1) == (1, 0)
    replay.refresh_from_db()
    assert replay.replay_of is None


def test_retention_of_0_days_keeps_everything(client, world, settings):
    settings.POSTBACK_LOG_RETENTION_DAYS = 0
    hit(client, world, f"subid1={world['click'].transaction_id}&amount=5.00")
    age(5000)
    out = StringIO()
    call_command("prune", stdout=out)
    assert "Postback log retention is off (0 days): no log rows pruned." in out.getvalue()
    assert PostbackLog.objects.count() == 1
