from offers.models import NetworkConnection, Offer

OFFER = {
    "name": "Boots",
    "payout_type": "percent",
    "payout_percent": "10.000",
    "offer_url": "https://shop.test/?t={transaction_id}",
}


def test_it_needs_an_api_key(client, workspace):
    r = client.get("/api/v1/offers/")
    assert r.status_code == 401
    assert r.json() == {"error": "Authentication credentials were not provided."}


def test_it_rejects_a_bad_key(client, workspace):
    r = client.get("/api/v1/offers/", HTTP_AUTHORIZATION="Bearer hub_nope_nope")
    assert r.status_code == 401


def test_it_creates_an_offer(api, workspace):
    conn = NetworkConnection.objects.create(workspace=workspace, kind="impact", label="Impact", currency="EUR")
    r = api.post("/api/v1/offers/create/", {**OFFER, "connection": str(conn.code)}, format="json")
    assert r.status_code == 201, r.json()
    offer = Offer.objects.get(workspace=workspace, code=r.json()["code"])
    assert offer.connection == conn
    assert offer.currency == "EUR"
    assert r.json()["connection"] == str(conn.code)
    assert r.json()["state"] == "active"


def test_it_explains_invalid_input(api, workspace):
    r = api.post("/api/v1/offers/create/", {"name": "", "payout_type": "bogus"}, format="json")
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "Invalid input."
    assert set(body["fields"]) >= {"name", "payout_type", "offer_url"}
    assert not Offer.objects.exists()


def test_it_passes_on_the_services_reasons(api, workspace):
    r = api.post("/api/v1/offers/create/", {**OFFER, "offer_url": "ftp://shop.test/"}, format="json")
    assert r.status_code == 422
    assert r.json()["error"]
    assert not Offer.objects.exists()


def test_another_workspaces_connection_is_not_found(api, workspace, other_workspace):
    conn = NetworkConnection.objects.create(workspace=other_workspace, kind="impact", label="Theirs")
    r = api.post("/api/v1/offers/create/", {**OFFER, "connection": str(conn.code)}, format="json")
    assert r.status_code == 422
    assert r.json()["fields"] == {"connection": ["Not found."]}


def test_it_lists_and_shows_offers(api, workspace, other_workspace):
    mine = Offer.objects.create(workspace=workspace, name="Mine", offer_url="https://a.test/?t={transaction_id}")
    Offer.objects.create(workspace=other_workspace, name="Theirs", offer_url="https://b.test/?t={transaction_id}")
    r = api.get("/api/v1/offers/")
    assert r.status_code == 200
    assert [o["name"] for o in r.json()["results"]] == ["Mine"]
    r = api.get(f"/api/v1/offers/{mine.code}/")
    assert r.json()["code"] == str(mine.code)
    assert r.json()["payout_percent"] == "0.000"


def test_it_checks_ownership(other_api, workspace):
    offer = Offer.objects.create(workspace=workspace, name="Mine", offer_url="https://a.test/?t={transaction_id}")
    r = other_api.get(f"/api/v1/offers/{offer.code}/")
    assert r.status_code == 404
    assert r.json() == {"error": "Not found."}


def test_device_urls_are_created_and_shown(api, workspace):
    ios = "https://shop.test/app/ios?t={transaction_id}"
    r = api.post("/api/v1/offers/create/", {**OFFER, "ios_url": ios}, format="json")
    assert r.status_code == 201, r.json()
    assert (r.json()["ios_url"], r.json()["android_url"]) == (ios, "")
    assert Offer.objects.get(workspace=workspace).ios_url == ios
    r = api.post("/api/v1/offers/create/", {**OFFER, "android_url": "https://shop.test/app/android"}, format="json")
    assert r.status_code == 422
    assert "needs {transaction_id} in the Android URL" in r.json()["error"]


def test_an_offer_is_changed_field_by_field(api, workspace):
    offer = api.post("/api/v1/offers/create/", {**OFFER, "utm_source": "hub"}, format="json").json()
    url = f"/api/v1/offers/{offer['code']}/"
    android = "https://shop.test/app/android?t={transaction_id}"
    r = api.patch(url, {"android_url": android, "payout_percent": "12.5"}, format="json")
    assert r.status_code == 200, r.json()
    assert (r.json()["android_url"], r.json()["payout_percent"], r.json()["utm_source"]) == (android, "12.500", "hub")
    stored = Offer.objects.get(code=offer["code"])
    assert stored.android_url == android and stored.name == "Boots"


def test_a_change_the_rules_refuse_changes_nothing(api, workspace):
    offer = api.post("/api/v1/offers/create/", OFFER, format="json").json()
    url = f"/api/v1/offers/{offer['code']}/"
    r = api.patch(url, {"offer_url": "https://shop.test/no-id", "name": "Renamed"}, format="json")
    assert r.status_code == 422
    assert "needs {transaction_id}" in r.json()["error"]
    assert api.patch(url, {"colour": "red"}, format="json").status_code == 400
    assert Offer.objects.get(code=offer["code"]).name == "Boots"


def test_an_offer_is_paused_and_resumed(api, workspace):
    offer = api.post("/api/v1/offers/create/", OFFER, format="json").json()
    paused = api.post(f"/api/v1/offers/{offer['code']}/pause/", format="json")
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    resumed = api.post(f"/api/v1/offers/{offer['code']}/resume/", format="json")
    assert resumed.status_code == 200 and resumed.json()["state"] == "active"
    stored = Offer.objects.get(code=offer["code"])
    stored.archived_at = stored.created_at
    stored.save()
    r = api.post(f"/api/v1/offers/{offer['code']}/resume/", format="json")
    assert r.status_code == 422 and "restore it" in r.json()["error"]


def test_another_workspaces_key_cannot_change_an_offer(api, other_api, workspace):
    offer = api.post("/api/v1/offers/create/", OFFER, format="json").json()
    r = other_api.patch(f"/api/v1/offers/{offer['code']}/", {"name": "Mine"}, format="json")
    assert r.status_code == 404 and r.json() == {"error": "Not found."}
    assert Offer.objects.get(code=offer["code"]).name == "Boots"
