"""The demo's conversions: recorded through the postback pipeline, once."""

import json

from django.core.management import call_command

from tracking.models import Conversion, ConversionEvent, PostbackLog
from workspaces.models import Workspace


def test_the_demo_has_conversions_in_every_state_and_stays_put(db, capsys):
    call_command("seeddemo")
    ws = Workspace.objects.get(slug="demo-brand")
    conversions = Conversion.objects.filter(workspace=ws)
    statuses = set(conversions.values_list("status", flat=True))
    assert {"pending", "approved", "reversed"} <= statuses
    assert conversions.filter(member__isnull=True).count() == 1
    assert PostbackLog.objects.filter(workspace=ws).count() > conversions.count()
    assert ConversionEvent.objects.filter(workspace=ws).count() >= conversions.count()
    before = (conversions.count(), PostbackLog.objects.count())

    call_command("seeddemo", "--json")
    text = capsys.readouterr().out
    out = json.loads(text[text.index("\n{") + 1 :])  # the lines before the JSON say what was seeded
    assert (conversions.count(), PostbackLog.objects.count()) == before
    urls = out["postback_urls"]
    assert set(urls) == {"impact", "shareasale"}
    assert all(f"/postback/{kind}/" in url for kind, url in urls.items())
    assert out["conversions"]["unattributed"] == 1
