import pytest

from workspaces.api_auth import ApiKeyThrottle

URLS = [
    "/api/v1/offers/",
    "/api/v1/members/",
    "/api/v1/links/",
    "/api/v1/clicks/",
    "/api/v1/conversions/",
    "/api/v1/reports/summary/",
    "/api/v1/reports/by-member/",
    "/api/v1/reports/by-offer/",
    "/api/v1/reports/by-day/",
    "/api/v1/payments/",
]


@pytest.mark.parametrize("url", URLS)
def test_each_key_is_rate_limited(url, api, other_api, monkeypatch):
    monkeypatch.setattr(ApiKeyThrottle, "THROTTLE_RATES", {"api_key": "3/minute"})
    for _ in range(3):
        assert api.get(url).status_code == 200
    r = api.get(url)
    assert r.status_code == 429
    assert "throttled" in r.json()["error"].lower()
    assert int(r["Retry-After"]) > 0
    # Another key has its own budget.
    assert other_api.get(url).status_code == 200


def test_writes_are_rate_limited_too(api, monkeypatch):
    monkeypatch.setattr(ApiKeyThrottle, "THROTTLE_RATES", {"api_key": "1/minute"})
    assert api.post("/api/v1/members/create/", {"name": "A"}, format="json").status_code == 201
    assert api.post("/api/v1/members/create/", {"name": "B"}, format="json").status_code == 429
