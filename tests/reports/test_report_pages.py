import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from networks.models import NetworkClickCount
from reports.rollups import rebuild_rollups
from tests.reports.reportdata import at, build_report_world, make_click, make_conversion
from tracking.models import PostbackLog


@pytest.fixture
def world(workspace):
    w = build_report_world(workspace)
    rebuild_rollups(workspace=workspace)
    return w


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def rows_by_name(response):
    return {r["name"]: r for r in response.context["rows"]}


def cells(row):
    return [c["value"] for c in row["cells"]]


def test_by_member_figures(alice_client, world):
    r = alice_client.get("/reports/members/")
    assert r.status_code == 200
    assert b'id="report-table"' in r.content
    assert b"No clicks or conversions in this range" not in r.content
    rows = rows_by_name(r)
    # clicks, unique, conversions, rate, sales, network payout, member payout, EPC
    assert cells(rows["Ava"]) == ["6", "5", "3", "60.00%", "150.00", "15.00", "7.50", "1.2500"]
    assert cells(rows["Ben"]) == ["3", "1", "1", "100.00%", "30.00", "3.00", "1.50", "0.5000"]
    assert "Tess" not in rows  # test member
    assert [c["value"] for c in r.context["totals"]] == ["9", "6", "4", "66.67%", "180.00", "18.00", "9.00", "1.0000"]


def test_by_member_sorts(alice_client, world):
    r = alice_client.get("/reports/members/", {"sort": "-conversion_rate"})
    assert [row["name"] for row in r.context["rows"]] == ["Ben", "Ava"]
    r = alice_client.get("/reports/members/", {"sort": "clicks"})
    assert [row["name"] for row in r.context["rows"]] == ["Ben", "Ava"]
    r = alice_client.get("/reports/members/", {"sort": "-clicks"})
    assert [row["name"] for row in r.context["rows"]] == ["Ava", "Ben"]
    # An unknown column falls back to the default order instead of failing.
    assert alice_client.get("/reports/members/", {"sort": "-password"}).status_code == 200


def test_by_member_csv(alice_client, world):
    rows = read_csv(alice_client.get("/reports/members/", {"format": "csv"}))
    header, *body = rows
    assert header[:3] == ["member", "member_code", "affiliate_id"]
    ava = next(r for r in body if r[0] == "Ava")
    assert ava[1] == str(world["ava"].code)
    assert ava[2] == world["ava"].affiliate_id
    assert ava[3:] == ["6", "5", "3", "60.00", "150.00", "15.00", "7.50", "1.2500", "USD"]
    assert len(body) == 2


def test_by_offer_and_filters(alice_client, world):
    rows = rows_by_name(alice_client.get("/reports/offers/"))
    assert cells(rows["Boots"])[:3] == ["6", "5", "3"]
    assert cells(rows["Tents"])[:3] == ["3", "1", "1"]
    only_boots = rows_by_name(alice_client.get("/reports/offers/", {"offer": str(world["boots"].code)}))
    assert list(only_boots) == ["Boots"]
    by_project = rows_by_name(alice_client.get("/reports/members/", {"project": str(world["project"].code)}))
    assert list(by_project) == ["Ava"]
    by_network = rows_by_name(alice_client.get("/reports/members/", {"network": str(world["connection"].code)}))
    assert list(by_network) == ["Ava"]
    by_member = alice_client.get("/reports/members/", {"member": str(world["ben"].code)})
    assert list(rows_by_name(by_member)) == ["Ben"]


def test_status_and_currency_filters(alice_client, world):
    reversed_only = rows_by_name(alice_client.get("/reports/members/", {"status": "reversed"}))
    assert cells(reversed_only["Ava"])[2] == "1"
    assert cells(reversed_only["Ava"])[4] == "80.00"
    eur = rows_by_name(alice_client.get("/reports/members/", {"currency": "EUR"}))
    assert cells(eur["Ava"])[2] == "3"  # conversions count in every currency
    assert cells(eur["Ava"])[4] == "20.00"  # money only in EUR


def test_by_day_fills_every_day_and_draws_a_chart(alice_client, world):
    r = alice_client.get("/reports/days/", {"preset": "7d"})
    rows = r.context["rows"]
    assert len(rows) == 7
    today = timezone.localdate()
    by_day = {row["name"]: cells(row) for row in rows}
    assert by_day[(today - timedelta(days=2)).isoformat()][:3] == ["4", "3", "1"]
    assert by_day[(today - timedelta(days=1)).isoformat()][:3] == ["5", "3", "3"]
    assert by_day[today.isoformat()][:3] == ["0", "0", "0"]
    assert r.context["chart"]
    body = read_csv(alice_client.get("/reports/days/", {"preset": "7d", "format": "csv"}))
    assert len(body) == 8
    assert body[0][0] == "day"
    assert body[-2][1:4] == ["5", "3", "3"]


def test_risk_by_member(alice_client, world):
    r = alice_client.get("/reports/risk/")
    assert b'id="report-table"' in r.content
    rows = rows_by_name(r)
    # clicks (all), bot share, clicks per IP, conversions, fast, slow, without click, mismatch, on hold
    assert cells(rows["Ava"]) == ["7", "14.3", "1.20", "3", "1", "0", "0", "0", "0"]
    assert cells(rows["Ben"]) == ["3", "0.0", "3.00", "1", "0", "0", "1", "1", "0"]
    assert rows["Ava"]["flags"] == ["timing"]
    assert rows["Ben"]["flags"] == ["no click", "affiliate id"]
    body = read_csv(alice_client.get("/reports/risk/", {"format": "csv"}))
    assert body[0][-1] == "flags"
    assert {row[0] for row in body[1:]} == {"Ava", "Ben"}


def test_risk_flags_bots_and_repeat_ips(alice_client, workspace, world):
    for i in range(6):
        make_click(world["ben_tents"], at(1, 20, i), ip="same-ip")
    for i in range(3):
        make_click(world["ben_tents"], at(1, 21, i), ip="bot-ip", bot=True)
    rows = rows_by_name(alice_client.get("/reports/risk/"))
    # 9 counted clicks from 2 IPs; 3 of 12 clicks are bots
    assert cells(rows["Ben"])[:3] == ["12", "25.0", "4.50"]
    assert "bots" in rows["Ben"]["flags"]
    for i in range(2):
        make_click(world["ben_tents"], at(1, 22, i), ip="same-ip")  # 11 clicks from 2 IPs
    rows = rows_by_name(alice_client.get("/reports/risk/"))
    assert "repeat IPs" in rows["Ben"]["flags"]


def test_risk_spots_slow_conversions(alice_client, workspace, world):
    old = make_click(world["ava_boots"], at(60))
    make_conversion(workspace, member=world["ava"], offer=world["boots"], when=at(3), click=old, sale="1")
    rows = rows_by_name(alice_client.get("/reports/risk/"))
    assert cells(rows["Ava"])[5] == "1"


def test_off_state_clicks(alice_client, world):
    r = alice_client.get("/reports/off-state/")
    assert b'id="report-table"' in r.content
    rows = rows_by_name(r)
    assert list(rows) == ["Tents"]
    assert cells(rows["Tents"]) == ["paused", "3", "3"]
    body = read_csv(alice_client.get("/reports/off-state/", {"format": "csv"}))
    assert body[1][0] == "Tents"
    assert body[1][2:] == ["paused", "3", "3"]


def test_network_clicks_beside_ours(alice_client, workspace, world):
    r = alice_client.get("/reports/network-clicks/")
    assert "No network click counts for this range" in r.content.decode()
    day = timezone.localdate() - timedelta(days=2)
    NetworkClickCount.objects.create(
        workspace=workspace, connection=world["connection"], program_id="1", date=day, clicks=5
    )
    rows = rows_by_name(alice_client.get("/reports/network-clicks/"))
    assert cells(rows[day.isoformat()]) == ["Impact", "4", "5", "-20.0"]
    body = read_csv(alice_client.get("/reports/network-clicks/", {"format": "csv"}))
    assert body[1] == [day.isoformat(), "Impact", "4", "5", "-20.0"]


def test_postback_outcomes(alice_client, workspace, world):
    for outcome, reason in [("accepted", ""), ("accepted", ""), ("rejected", "bad amount"), ("duplicate", "")]:
        PostbackLog.objects.create(
            workspace=workspace, network="impact", method="GET", outcome=outcome, reason=reason, received_at=at(1)
        )
    PostbackLog.objects.create(workspace=None, network="impact", method="GET", outcome="rejected", received_at=at(1))
    r = alice_client.get("/reports/postbacks/")
    rows = rows_by_name(r)
    assert cells(rows["Accepted"]) == ["2"]
    assert cells(rows["Rejected"]) == ["1"]
    assert cells(rows["rejected: bad amount"]) == ["1"]
    assert [c["value"] for c in r.context["totals"]] == ["4"]
    body = read_csv(alice_client.get("/reports/postbacks/", {"format": "csv"}))
    assert body[0] == ["day", "accepted", "duplicate", "updated", "unattributed", "rejected"]
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert next(row for row in body if row[0] == yesterday)[1:] == ["2", "1", "0", "0", "1"]


@pytest.mark.parametrize(
    "url",
    [
        "/reports/",
        "/reports/members/",
        "/reports/offers/",
        "/reports/days/",
        "/reports/risk/",
        "/reports/off-state/",
        "/reports/network-clicks/",
        "/reports/postbacks/",
    ],
)
def test_every_report_has_an_empty_state_and_validates(alice_client, workspace, url):
    r = alice_client.get(url)
    assert r.status_code == 200
    if url != "/reports/":
        assert b'class="empty"' in r.content
        assert b'id="report-table"' not in r.content
    assert alice_client.get(url, {"start": "not-a-date", "preset": "custom"}).status_code == 400
    assert alice_client.get(url, {"member": "not-a-uuid"}).status_code == 400


@pytest.mark.parametrize("url", ["/reports/members/", "/reports/risk/", "/reports/days/"])
def test_it_checks_ownership(charlie_client, workspace, world, url):
    # Alice's member as a filter is unknown in charlie's workspace, and nothing of hers shows.
    r = charlie_client.get(url, {"member": str(world["ava"].code)})
    assert r.status_code == 400
    assert "No such member" in r.content.decode()
    r = charlie_client.get(url)
    assert "Ava" not in r.content.decode()


def test_csv_streams_from_an_iterator(alice_client, world):
    response = alice_client.get("/reports/offers/", {"format": "csv"})
    assert not hasattr(response, "content") or response.streaming
    first = next(iter(response.streaming_content))
    assert first.startswith("\ufeffoffer,offer_code".encode())


def test_days_the_network_reported_nothing_are_gaps_not_zeros(alice_client, workspace, world):
    import json

    reported = timezone.localdate() - timedelta(days=2)
    NetworkClickCount.objects.create(
        workspace=workspace, connection=world["connection"], program_id="1", date=reported, clicks=5
    )
    response = alice_client.get("/reports/network-clicks/")
    config = json.loads(response.context["chart"])
    network = next(d for d in config["data"]["datasets"] if d["label"] == "Network's clicks")
    labels = config["data"]["labels"]
    assert network["data"][labels.index(reported.isoformat())] == 5
    assert None in network["data"]  # a day with our clicks but no export from the network
    assert config["options"]["spanGaps"] is False


def test_small_counts_and_money_get_their_own_axes(alice_client, world):
    import json

    config = json.loads(alice_client.get("/reports/days/").context["chart"])
    axes = {d["label"]: d.get("yAxisID", "y") for d in config["data"]["datasets"]}
    assert axes["Clicks"] == "y" and axes["Conversions"] == "y1" and axes["Member payout (USD)"] == "y2"
    assert config["options"]["scales"]["y1"]["position"] == "right"
    dashboard = json.loads(alice_client.get("/dashboard/").context["chart"])
    assert {d["label"]: d.get("yAxisID", "y") for d in dashboard["data"]["datasets"]} == {
        "Clicks": "y",
        "Conversions": "y1",
    }


def test_risk_counts_conversions_on_hold_apart(alice_client, workspace, world):
    from payments.services import hold_conversion, release_hold
    from tracking.models import Conversion

    held = Conversion.objects.filter(workspace=workspace, member__name="Ava").order_by("id")
    hold_conversion(conversion=held[0], reason="review")
    hold_conversion(conversion=held[1], reason="review")
    release_hold(conversion=held[1])
    rows = rows_by_name(alice_client.get("/reports/risk/"))
    assert cells(rows["Ava"])[-1] == "1" and "on hold" in rows["Ava"]["flags"]
    assert cells(rows["Ben"])[-1] == "0"


def test_reports_that_read_raw_rows_say_what_retention_removed_from_their_range(alice_client, world, settings):
    from datetime import UTC, datetime

    from tracking.models import RetentionHorizon

    old = {"start": "2025-01-01", "end": "2025-01-31"}
    assert b'id="retention-note"' not in alice_client.get("/reports/risk/", old).content  # nothing pruned yet
    RetentionHorizon.objects.create(table="tracking_click", pruned_before=datetime(2025, 11, 1, tzinfo=UTC))

    page = alice_client.get("/reports/risk/", old).content.decode()
    assert "Clicks before 2025-11-01 are no longer stored" in page
    assert 'id="retention-note"' in alice_client.get("/reports/paths/", old).content.decode()
    assert b'id="retention-note"' not in alice_client.get("/reports/risk/").content  # this month: all kept
    assert b'id="retention-note"' not in alice_client.get("/reports/days/", old).content  # reads the rollups

    settings.POSTBACK_LOG_RETENTION_DAYS = 180
    page = alice_client.get("/reports/postbacks/", old).content.decode()
    assert "Postback log rows are kept 180 days" in page
    settings.POSTBACK_LOG_RETENTION_DAYS = 0
    assert b'id="retention-note"' not in alice_client.get("/reports/postbacks/", old).content
