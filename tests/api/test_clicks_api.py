from datetime import timedelta

from django.utils import timezone

from tests.reports.reportdata import at, build_report_world


def test_it_pages_clicks_by_cursor(api, workspace):
    build_report_world(workspace)
    seen = []
    url, params = "/api/v1/clicks/", {"limit": 4}
    for _ in range(10):
        r = api.get(url, params)
        assert r.status_code == 200
        body = r.json()
        seen += [c["transaction_id"] for c in body["results"]]
        if not body["next"]:
            break
        url, params = body["next"], None
    # 8 of Ava's, 3 of Ben's, 5 of the test member's: every click once, newest first.
    assert len(seen) == len(set(seen)) == 16


def test_it_filters_clicks(api, workspace):
    world = build_report_world(workspace)
    day = (timezone.localdate() - timedelta(days=2)).isoformat()
    r = api.get("/api/v1/clicks/", {"start": day, "end": day})
    results = r.json()["results"]
    assert len(results) == 5
    assert sum(c["is_bot"] for c in results) == 1
    r = api.get("/api/v1/clicks/", {"member": str(world["ben"].code)})
    assert {c["member"] for c in r.json()["results"]} == {str(world["ben"].code)}
    assert {c["offer_state"] for c in r.json()["results"]} == {"paused"}
    r = api.get("/api/v1/clicks/", {"offer": str(world["tents"].code), "start": at(30).date().isoformat()})
    assert len(r.json()["results"]) == 3


def test_it_validates_click_filters(api, workspace):
    r = api.get("/api/v1/clicks/", {"start": "2026-13-01"})
    assert r.status_code == 400
    assert "start" in r.json()["fields"]
    # Well-formed days that make no range: a rule says no (422), not the schema (400).
    r = api.get("/api/v1/clicks/", {"start": "2026-02-02", "end": "2026-02-01"})
    assert r.status_code == 422
    assert r.json()["fields"] == {"start": ["The start must not be after the end."]}
    assert api.get("/api/v1/clicks/", {"end": "9999-12-31"}).status_code == 422
    assert api.get("/api/v1/clicks/", {"end": "0000-01-01"}).status_code == 422  # RFC 3339 has a year 0
    assert api.get("/api/v1/clicks/", {"end": "2026-02-30"}).status_code == 400
    assert api.get("/api/v1/clicks/", {"end": "20260201"}).status_code == 400  # not the schema's date form
    for limit in ("abc", "0", "201", "-1"):
        r = api.get("/api/v1/clicks/", {"limit": limit})
        assert r.status_code == 400, limit
        assert set(r.json()["fields"]) == {"limit"}
    assert api.get("/api/v1/clicks/", {"limit": "200"}).status_code == 200
    assert api.get("/api/v1/clicks/", {"limit": "", "offer": ""}).status_code == 200  # empty means not sent


def test_another_workspace_sees_no_clicks(other_api, workspace):
    world = build_report_world(workspace)
    assert other_api.get("/api/v1/clicks/").json()["results"] == []
    assert other_api.get("/api/v1/clicks/", {"member": str(world["ava"].code)}).status_code == 422
