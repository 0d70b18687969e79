"""The Impact client: formats, paging, window rules, error classes, rate limits."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx

from networks import impact
from networks.impact import ImpactClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "impact"
SID = "IRTESTSID0000000000000000000000001"
BASE = "https://impact.test"
ACTIONS = f"{BASE}/Mediapartners/{SID}/Actions"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def client(**kw) -> ImpactClient:
    return ImpactClient(account_sid=SID, auth_token="tok-secret-123", base_url=BASE, **kw)


def window(days=30):
    end = datetime.now(UTC) - timedelta(hours=1)
    return end - timedelta(days=days), end


@respx.mock
def test_it_reads_a_json_page_with_strings_and_none_for_empty_values():
    route = respx.get(ACTIONS).respond(200, content=fixture("impact_actions_page1.json"), headers=JSON)
    start, end = window()
    pages = list(client().iter_actions(start=start, end=end))
    assert len(pages) == 1
    first = pages[0].records[0]
    assert first["Id"] == "1000.4636.158133"
    assert first["Payout"] == "0.88" and first["Amount"] == "21.99"
    assert first["ClearedDate"] is None and first["SubId3"] is None
    request = route.calls.last.request
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.url.params["PageSize"] == "2000"
    assert request.url.params["StartDate"].endswith("Z")


@respx.mock
def test_xml_and_json_give_the_same_records():
    respx.get(ACTIONS).respond(200, content=fixture("impact_actions_page1.json"), headers=JSON)
    start, end = window()
    from_json = list(client().iter_actions(start=start, end=end))[0].records[0]
    respx.get(ACTIONS).mock(
        side_effect=[
            httpx.Response(200, content=fixture("impact_actions_page1.xml"), headers=XML),
            httpx.Response(200, content=fixture("actions_page2.xml"), headers=XML),
        ]
    )
    pages = list(client().iter_actions(start=start, end=end))
    assert [p.number for p in pages] == [1, 2]
    assert pages[0].numpages == 2 and pages[0].total == 2150
    from_xml = pages[0].records[0]
    assert from_xml == {k: v for k, v in from_json.items() if k in from_xml}
    assert from_xml["ClearedDate"] is None
    assert pages[1].records[0]["Id"] == "1000.4636.158999"


@respx.mock
def test_it_follows_nextpageuri_one_page_at_a_time():
    page1 = json.loads(fixture("impact_actions_page1.json"))
    page1.update({"@numpages": "2", "@nextpageuri": f"/Mediapartners/{SID}/Actions?PageSize=2000&Page=2"})
    page2 = dict(page1, **{"@page": "2", "@nextpageuri": "", "Actions": page1["Actions"][:1]})
    route = respx.get(ACTIONS).mock(side_effect=[httpx.Response(200, json=page1), httpx.Response(200, json=page2)])
    start, end = window()
    pages = client().iter_actions(start=start, end=end)
    first = next(pages)
    assert route.call_count == 1  # the second page is fetched only when asked for
    assert len(first.records) == 3
    second = next(pages)
    assert route.calls.last.request.url.params["Page"] == "2"
    assert len(second.records) == 1
    assert next(pages, None) is None


@respx.mock
def test_window_rules_are_enforced_before_calling():
    route = respx.get(ACTIONS).respond(200, json={})
    now = datetime.now(UTC)
    with pytest.raises(impact.WindowError, match="45 days"):
        next(client().iter_actions(start=now - timedelta(days=46), end=now))
    with pytest.raises(impact.WindowError, match="3 years"):
        next(client().iter_actions(start=now - timedelta(days=3 * 366), end=now - timedelta(days=3 * 366 - 10)))
    with pytest.raises(impact.WindowError, match="2000"):
        next(client().iter_actions(start=now - timedelta(days=1), end=now, page_size=500))
    assert route.call_count == 0


@respx.mock
def test_401_is_an_auth_error_without_the_token_in_it():
    respx.get(f"{BASE}/Mediapartners/{SID}/CompanyInformation").respond(
        401, json={"Status": "ERROR", "Message": "Unauthorized"}
    )
    with pytest.raises(impact.AuthError) as info:
        client().company_information()
    assert "tok-secret-123" not in info.value.message
    assert "Account SID and Auth Token" in info.value.message


@respx.mock
def test_403_names_the_endpoint():
    respx.get(f"{BASE}/Mediapartners/{SID}/ActionUpdates").respond(
        403, json={"Status": "ERROR", "Message": "Forbidden"}
    )
    start, end = window()
    with pytest.raises(impact.ScopeError) as info:
        next(client().iter_action_updates(start=start, end=end))
    assert info.value.endpoint == "/ActionUpdates"
    assert "ActionUpdates" in info.value.message


@respx.mock
def test_429_carries_retry_after():
    respx.get(ACTIONS).respond(
        429, json={"Status": "ERROR"}, headers={"Retry-After": "700", "X-RateLimit-Remaining-hour": "0"}
    )
    start, end = window()
    with pytest.raises(impact.RateLimited) as info:
        next(client().iter_actions(start=start, end=end))
    assert info.value.retry_after == 700


@respx.mock
def test_5xx_and_timeouts_retry_with_capped_jittered_backoff(monkeypatch):
    slept = []
    route = respx.get(ACTIONS).mock(
        side_effect=[httpx.Response(503), httpx.ConnectTimeout("slow"), httpx.Response(200, json=ACTIONS_EMPTY)]
    )
    start, end = window()
    pages = list(client(retries=3, sleep=slept.append).iter_actions(start=start, end=end))
    assert route.call_count == 3 and pages[0].records == []
    assert len(slept) == 2
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0
    assert all(impact.backoff_seconds(20) <= impact.BACKOFF_CAP for _ in range(20))

    respx.get(ACTIONS).mock(side_effect=[httpx.Response(502)] * 3)
    with pytest.raises(impact.ServerError, match="502"):
        next(client(retries=2, sleep=slept.append).iter_actions(start=start, end=end))


@respx.mock
def test_a_malformed_body_is_a_clear_error():
    respx.get(ACTIONS).respond(200, content=b"<html><body>Gateway hiccup</body></html>", headers=HTML)
    start, end = window()
    with pytest.raises(impact.MalformedBody, match="root element <html>"):
        next(client().iter_actions(start=start, end=end))
    respx.get(ACTIONS).respond(200, content=b'{"@page": "1", "Actions": [', headers=JSON)
    with pytest.raises(impact.MalformedBody, match="JSON"):
        next(client().iter_actions(start=start, end=end))
    respx.get(ACTIONS).respond(200, json={"@page": "1", "Things": []})
    with pytest.raises(impact.MalformedBody, match="no 'Actions' list"):
        next(client().iter_actions(start=start, end=end))


@respx.mock
def test_a_400_keeps_impacts_own_message():
    respx.get(ACTIONS).respond(
        400,
        content=b"<ImpactRadiusResponse><Status>ERROR</Status><Message>Validation Failed</Message>"
        b"<Errors><Error><Field>StartDate</Field><Message>Not a date</Message></Error></Errors>"
        b"</ImpactRadiusResponse>",
        headers=XML,
    )
    start, end = window()
    with pytest.raises(impact.RequestRejected, match="Validation Failed; StartDate: Not a date"):
        next(client().iter_actions(start=start, end=end))


@respx.mock
def test_the_hourly_limit_is_shared_by_every_client_of_a_connection():
    route = respx.get(ACTIONS).respond(200, json=ACTIONS_EMPTY)
    start, end = window()
    limits = {"performance": 3, "other": 10}
    first, second = client(), client()  # two workers, one connection
    first.limiter.limits = second.limiter.limits = limits
    next(first.iter_actions(start=start, end=end))
    next(second.iter_actions(start=start, end=end))
    next(first.iter_actions(start=start, end=end))
    with pytest.raises(impact.RateLimited) as info:
        next(second.iter_actions(start=start, end=end))
    assert route.call_count == 3
    assert 0 < info.value.retry_after <= 3601


@respx.mock
def test_it_stops_when_impact_says_nothing_remains_this_hour():
    route = respx.get(ACTIONS).respond(
        200, json=ACTIONS_EMPTY, headers={"X-RateLimit-Remaining-hour": "0", "RateLimit-Reset": "120"}
    )
    start, end = window()
    next(client().iter_actions(start=start, end=end))
    with pytest.raises(impact.RateLimited) as info:
        next(client().iter_actions(start=start, end=end))
    assert route.call_count == 1
    assert 100 <= info.value.retry_after <= 121


@respx.mock
def test_actions_action_updates_and_single_actions_share_one_hourly_budget():
    listing = respx.get(ACTIONS).respond(200, json=ACTIONS_EMPTY)
    updates = respx.get(UPDATES).respond(200, json=UPDATES_EMPTY)
    single = respx.get(f"{ACTIONS}/1000.1.1").respond(200, json={"Id": "1000.1.1"})
    start, end = window()
    c = client()
    c.limiter.limits = {"performance": 3, "other": 10}
    next(c.iter_actions(start=start, end=end))
    next(c.iter_action_updates(start=start, end=end))
    c.action("1000.1.1")
    for call in (lambda: c.action("1000.1.1"), lambda: next(c.iter_action_updates(start=start, end=end))):
        with pytest.raises(impact.RateLimited, match="limit of 3 requests per hour"):
            call()
    assert (listing.call_count, updates.call_count, single.call_count) == (1, 1, 1)


@respx.mock
def test_after_a_429_on_any_of_them_none_is_called_before_retry_after():
    respx.get(UPDATES).respond(429, json={"Status": "ERROR"}, headers={"Retry-After": "120"})
    listing = respx.get(ACTIONS).respond(200, json=ACTIONS_EMPTY)
    single = respx.get(f"{ACTIONS}/1000.1.1").respond(200, json={"Id": "1000.1.1"})
    campaigns = respx.get(f"{BASE}/Mediapartners/{SID}/Campaigns").respond(200, json=CAMPAIGNS_EMPTY)
    start, end = window()
    with pytest.raises(impact.RateLimited):
        next(client().iter_action_updates(start=start, end=end))
    other_worker = client()  # another process, same connection: the block lives in Redis
    for call in (
        lambda: other_worker.action("1000.1.1"),
        lambda: next(other_worker.iter_actions(start=start, end=end)),
    ):
        with pytest.raises(impact.RateLimited) as info:
            call()
        assert 110 <= info.value.retry_after <= 121
    assert listing.call_count == single.call_count == 0
    # Other limit groups are not blocked.
    assert list(other_worker.iter_campaigns()) == [] and campaigns.call_count == 1
    # A different connection has its own budget.
    elsewhere = ImpactClient(account_sid=SID, auth_token="t", base_url=BASE, connection_key="another-connection")
    next(elsewhere.iter_actions(start=start, end=end))
    assert listing.call_count == 1


@respx.mock
def test_a_429_on_click_export_blocks_only_click_exports():
    respx.get(f"{BASE}/Mediapartners/{SID}/ClickExport").respond(429, headers={"Retry-After": "3600"})
    listing = respx.get(ACTIONS).respond(200, json=ACTIONS_EMPTY)
    c = client()
    with pytest.raises(impact.RateLimited):
        c.start_click_export(program_id="1000", day=datetime.now(UTC).date())
    start, end = window()
    next(c.iter_actions(start=start, end=end))
    assert listing.call_count == 1


@respx.mock
def test_a_client_stops_retrying_at_its_cap_of_server_errors_in_a_row():
    route = respx.get(ACTIONS).respond(503)
    start, end = window()
    c = client(retries=10, max_server_failures=5)
    with pytest.raises(impact.ServerError, match=r"503 for /Actions \(5 times in a row\)"):
        next(c.iter_actions(start=start, end=end))
    assert route.call_count == 5 and c.server_failures == 5


@respx.mock
def test_a_click_export_download_follows_a_302_without_sending_credentials():
    download = f"{BASE}/Mediapartners/{SID}/Jobs/d8807a9f-a5ee-4e3f-ad2b-3dfd19d1915f/Download"
    respx.get(download).mock(
        side_effect=[
            httpx.Response(202, json={"Status": "RUNNING"}),
            httpx.Response(302, headers={"Location": "https://files.impact-cdn.test/export.csv?sig=abc"}),
        ]
    )
    signed = respx.get("https://files.impact-cdn.test/export.csv").respond(
        200, content=fixture("impact_clicks.csv"), headers={"Content-Type": "text/csv"}
    )
    c = client()
    assert c.iter_download(download) is None  # 202: not ready
    rows = list(c.iter_download(download))
    assert [r["SubId1"] for r in rows] == ["hub-click-7f3a9c", "hub-click-88c0de"]
    assert rows[0]["SharedId"] is None
    assert "Authorization" not in signed.calls.last.request.headers


@respx.mock
def test_a_json_click_export_download_is_read_too():
    download = f"{BASE}/Mediapartners/{SID}/Jobs/x/Download"
    respx.get(download).respond(200, content=fixture("impact_job_download_clicks.json"), headers=JSON)
    rows = list(client().iter_download(download))
    assert [r["UniqueClick"] for r in rows] == ["true", "false"]


JSON = {"Content-Type": "application/json"}
XML = {"Content-Type": "text/xml; charset=UTF-8"}
HTML = {"Content-Type": "text/html"}
ACTIONS_EMPTY = {"@page": "1", "@numpages": "1", "@total": "0", "@nextpageuri": "", "Actions": []}
UPDATES = f"{BASE}/Mediapartners/{SID}/ActionUpdates"
UPDATES_EMPTY = {"@page": "1", "@numpages": "1", "@total": "0", "@nextpageuri": "", "ActionUpdates": []}
CAMPAIGNS_EMPTY = {"@page": "1", "@numpages": "1", "@total": "0", "@nextpageuri": "", "Campaigns": []}
