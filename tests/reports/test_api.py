from datetime import timedelta

import pytest
from django.utils import timezone

from reports.rollups import rebuild_rollups
from tests.reports.reportdata import build_report_world


@pytest.fixture
def world(workspace):
    w = build_report_world(workspace)
    rebuild_rollups(workspace=workspace)
    return w


def test_summary_matches_the_dashboard(api, world):
    r = api.get("/api/v1/reports/summary/")
    assert r.status_code == 200
    body = r.json()
    assert body["range"]["statuses"] == ["pending", "approved"]
    assert body["range"]["currency"] == "USD"
    cur = body["current"]
    assert (cur["clicks"], cur["unique_clicks"], cur["bot_clicks"], cur["conversions"]) == (9, 6, 1, 4)
    assert (cur["sales"], cur["network_payout"], cur["member_payout"]) == ("180.00", "18.00", "9.00")
    assert (cur["conversion_rate"], cur["epc"]) == ("66.67", "1.0000")
    assert cur["other_currency_conversions"] == 1
    assert body["previous"]["clicks"] == 1  # the click 40 days ago
    assert body["change"]["clicks"] == "800.0"
    assert body["change"]["conversions"] is None  # nothing to compare with


def test_by_member_and_by_offer(api, world):
    r = api.get("/api/v1/reports/by-member/", {"sort": "-member_payout"})
    rows = r.json()["results"]
    assert [row["name"] for row in rows] == ["Ava", "Ben"]
    assert rows[0]["member"] == str(world["ava"].code)
    assert (rows[0]["clicks"], rows[0]["conversions"], rows[0]["member_payout"], rows[0]["epc"]) == (
        6,
        3,
        "7.50",
        "1.2500",
    )
    r = api.get("/api/v1/reports/by-member/", {"limit": 1, "offset": 1, "sort": "-member_payout"})
    assert [row["name"] for row in r.json()["results"]] == ["Ben"]
    r = api.get("/api/v1/reports/by-offer/", {"offer": str(world["tents"].code)})
    assert [(row["name"], row["clicks"]) for row in r.json()["results"]] == [("Tents", 3)]


def test_by_day(api, world):
    r = api.get("/api/v1/reports/by-day/", {"preset": "7d"})
    rows = r.json()["results"]
    assert len(rows) == 7
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    row = next(row for row in rows if row["day"] == yesterday)
    assert (row["clicks"], row["conversions"], row["sales"]) == (5, 3, "80.00")


def test_it_validates_report_filters(api, world):
    # Well-formed, but no range: 422. Malformed: 400.
    r = api.get("/api/v1/reports/summary/", {"preset": "custom", "start": "2026-03-01", "end": "2026-02-01"})
    assert r.status_code == 422
    assert "start" in r.json()["fields"]
    assert api.get("/api/v1/reports/summary/", {"start": "1999-12-31"}).status_code == 422
    assert api.get("/api/v1/reports/summary/", {"status": "lost"}).status_code == 400
    assert api.get("/api/v1/reports/by-member/", {"limit": 0}).status_code == 400
    assert api.get("/api/v1/reports/by-member/", {"limit": 1001}).status_code == 400
    assert api.get("/api/v1/reports/by-member/", {"sort": "--clicks"}).status_code == 400
    assert api.get("/api/v1/reports/by-member/", {"sort": "-name", "limit": 1000}).status_code == 200
    assert api.get("/api/v1/reports/by-day/", {"currency": "usd"}).status_code == 400
    assert api.get("/api/v1/reports/by-day/", {"currency": "USD\n"}).status_code == 400
    assert api.get("/api/v1/reports/by-day/", {"offer": "not-a-code"}).status_code == 400


def test_another_workspace_gets_its_own_figures(other_api, world):
    r = other_api.get("/api/v1/reports/summary/")
    assert r.json()["current"]["clicks"] == 0
    r = other_api.get("/api/v1/reports/by-member/", {"member": str(world["ava"].code)})
    assert r.status_code == 422
    assert r.json()["fields"] == {"member": ["No such member in this workspace."]}


def test_each_table_url_states_its_own_rows_in_the_schema(client, db):
    # One view serves both tables; the schema still tells them apart.
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    for path, answer, row, name_field in [
        ("/api/v1/reports/by-member/", "ReportByMember", "MemberFigures", "member"),
        ("/api/v1/reports/by-offer/", "ReportByOffer", "OfferFigures", "offer"),
    ]:
        operation = schema["paths"][path]["get"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(answer)
        assert components[answer]["properties"]["results"]["items"]["$ref"].endswith(row)
        assert name_field in components[row]["properties"]
        assert {p["name"] for p in operation["parameters"]} >= {"sort", "limit", "offset", "preset", "member"}
    member_rows = components["MemberFigures"]["properties"]
    assert "affiliate_id" in member_rows and "affiliate_id" not in components["OfferFigures"]["properties"]
    assert schema["paths"]["/api/v1/reports/by-offer/"]["get"]["description"].startswith("Performance by offer")
