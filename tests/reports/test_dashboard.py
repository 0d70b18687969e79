from datetime import timedelta

from django.utils import timezone

from reports.rollups import rebuild_rollups
from tests.reports.reportdata import at, build_report_world, make_click


def test_it_shows_the_figures_and_the_change(alice_client, workspace):
    world = build_report_world(workspace)
    # The previous 30 days hold one click (40 days ago); add two more there.
    make_click(world["ava_boots"], at(35))
    make_click(world["ava_boots"], at(31))
    rebuild_rollups(workspace=workspace)
    r = alice_client.get("/dashboard/")
    assert r.status_code == 200
    cards = {label: (value, delta) for label, value, delta, _ in r.context["cards"]}
    assert cards["Clicks"] == ("9", 200)  # 9 now against 3 before: +200 %
    assert cards["Unique clicks"][0] == "6"
    assert cards["Conversions"] == ("4", None)  # nothing to compare with
    assert cards["Conversion rate"][0] == "66.67%"
    assert cards["Sales (USD)"][0] == "180.00"
    assert cards["Network payout (USD)"][0] == "18.00"
    assert cards["Member payout (USD)"][0] == "9.00"
    assert cards["EPC (USD, member payout / click)"][0] == "1.0000"
    assert [m["member__name"] for m in r.context["top_members"]] == ["Ava", "Ben"]
    assert len(r.context["recent"]) == 5  # every status; the test member's conversion is left out
    body = r.content.decode()
    assert "1 conversion in other currencies" in body
    assert "data-chart=" in body


def test_it_takes_a_custom_range(alice_client, workspace):
    build_report_world(workspace)
    rebuild_rollups(workspace=workspace)
    day = (timezone.localdate() - timedelta(days=2)).isoformat()
    r = alice_client.get("/dashboard/", {"start": day, "end": day})
    cards = {label: value for label, value, _, _ in r.context["cards"]}
    assert cards["Clicks"] == "4"
    assert cards["Conversions"] == "1"
    assert r.context["filters"].preset == "custom"


def test_it_shows_an_empty_state(alice_client, workspace):
    r = alice_client.get("/dashboard/")
    assert r.status_code == 200
    assert "No clicks or conversions in this range" in r.content.decode()


def test_it_rejects_a_backwards_range_with_400(alice_client, workspace):
    r = alice_client.get("/dashboard/", {"start": "2026-02-10", "end": "2026-02-01", "preset": "custom"})
    assert r.status_code == 400
    assert "start date must not be after" in r.content.decode()


def test_it_checks_ownership(charlie_client, workspace, alice):
    from tests.outsider import build_world

    world = build_world(workspace, alice)
    # Charlie's dashboard shows his own workspace and refuses alice's offer as a filter.
    r = charlie_client.get("/dashboard/", {"offer": str(world["offer"].code)})
    assert r.status_code == 400
    assert "No such offer" in r.content.decode()


def test_it_needs_a_login(client):
    r = client.get("/dashboard/")
    assert r.status_code == 302


def test_the_payments_overview_is_one_click_from_the_dashboard(alice_client):
    from django.urls import reverse

    page = alice_client.get("/dashboard/").content.decode()
    assert f'href="{reverse("payments:overview")}">Payments Overview</a>' in page
