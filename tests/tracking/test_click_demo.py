"""seeddemo's click history: 30 days on the demo links, some bots and uniques, seeded once."""

import json
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from tracking.models import Click
from workspaces.models import Workspace


def test_the_demo_has_a_month_of_clicks_and_seeding_again_adds_none(db, capsys):
    call_command("seeddemo", "--json")
    first = json.loads(capsys.readouterr().out)
    ws = Workspace.objects.get(slug="demo-brand")
    clicks = Click.objects.filter(workspace=ws)
    total = clicks.count()
    assert first["links"]
    assert total > 200
    assert first["clicks"] == {
        "total": total,
        "unique": clicks.filter(is_unique=True).count(),
        "bots": clicks.filter(is_bot=True).count(),
    }
    assert 0 < first["clicks"]["bots"] < total / 4
    assert 0 < first["clicks"]["unique"] < total
    oldest = clicks.order_by("created_at").first().created_at
    assert timezone.now() - oldest > timedelta(days=25)
    assert clicks.filter(offer_state="paused").exists()
    assert clicks.values("link").distinct().count() > 5
    # Every click's destination carries its own transaction id, or is the fallback.
    for click in clicks.filter(offer_state="active")[:50]:
        assert click.transaction_id in click.destination

    call_command("seeddemo", "--json")
    again = json.loads(capsys.readouterr().out)
    assert Click.objects.filter(workspace=ws).count() == total
    assert again["clicks"] == first["clicks"]
