from tests.reports.reportdata import at, build_report_world, make_conversion
from tracking.models import Conversion, ConversionChange, ConversionEvent


def test_it_lists_and_filters_conversions(api, workspace):
    world = build_report_world(workspace)
    r = api.get("/api/v1/conversions/")
    assert r.status_code == 200
    assert len(r.json()["results"]) == 6
    r = api.get("/api/v1/conversions/", {"status": "reversed"})
    assert [c["sale_amount"] for c in r.json()["results"]] == ["80.00"]
    r = api.get("/api/v1/conversions/", {"member": str(world["ben"].code)})
    assert [c["affiliate_mismatch"] for c in r.json()["results"]] == [True]
    r = api.get("/api/v1/conversions/", {"network": str(world["connection"].code), "limit": 2})
    assert len(r.json()["results"]) == 2
    assert r.json()["next"]
    assert api.get("/api/v1/conversions/", {"status": "maybe"}).status_code == 400


def test_it_shows_a_conversion(api, workspace):
    world = build_report_world(workspace)
    conversion = world["ben"].conversions.get()
    r = api.get(f"/api/v1/conversions/{conversion.code}/")
    body = r.json()
    assert body["member"] == str(world["ben"].code)
    assert body["offer"] == str(world["tents"].code)
    assert (body["sale_amount"], body["network_payout"], body["member_payout"]) == ("30.00", "3.00", "1.50")


def test_it_approves_and_rejects(api, workspace):
    world = build_report_world(workspace)
    pending = world["ava"].conversions.get(status="pending")
    r = api.post(f"/api/v1/conversions/{pending.code}/approve/", {}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "approved"
    pending.refresh_from_db()
    assert pending.status == "approved"
    change = ConversionChange.objects.get(conversion=pending)
    assert change.changes == {"status": ["pending", "approved"]}
    assert change.actor.startswith("api-key:")
    assert ConversionEvent.objects.filter(conversion=pending, kind="status_changed").count() == 1

    other = make_conversion(workspace, member=world["ava"], offer=world["boots"], when=at(1), status="pending")
    r = api.post(f"/api/v1/conversions/{other.code}/reject/", {"reason": "Returned order"}, format="json")
    assert r.status_code == 200
    other.refresh_from_db()
    assert (other.status, other.status_reason) == ("rejected", "Returned order")


def test_reject_needs_a_reason(api, workspace):
    world = build_report_world(workspace)
    pending = world["ava"].conversions.get(status="pending")
    r = api.post(f"/api/v1/conversions/{pending.code}/reject/", {}, format="json")
    assert r.status_code == 400
    assert "reason" in r.json()["fields"]
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_statuses_only_move_forward(api, workspace):
    world = build_report_world(workspace)
    reversed_ = world["ava"].conversions.get(status="reversed")
    r = api.post(f"/api/v1/conversions/{reversed_.code}/approve/", {}, format="json")
    assert r.status_code == 422
    assert "only move forward" in r.json()["error"]
    assert Conversion.objects.get(pk=reversed_.pk).status == "reversed"


def test_it_checks_ownership(other_api, workspace):
    world = build_report_world(workspace)
    pending = world["ava"].conversions.get(status="pending")
    for method, url in [
        ("get", f"/api/v1/conversions/{pending.code}/"),
        ("post", f"/api/v1/conversions/{pending.code}/approve/"),
        ("post", f"/api/v1/conversions/{pending.code}/reject/"),
    ]:
        r = getattr(other_api, method)(url, {"reason": "x"} if method == "post" else None, format="json")
        assert r.status_code == 404, url
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert other_api.get("/api/v1/conversions/").json()["results"] == []
