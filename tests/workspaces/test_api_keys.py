from django.urls import reverse

from workspaces.models import ApiKey


def test_it_shows_a_new_key_once_and_stores_only_its_hash(alice_client, workspace):
    r = alice_client.post(reverse("workspaces:create_api_key"), {"name": "warehouse"})
    raw = r.context["raw"]
    key = ApiKey.objects.get()
    assert raw.startswith(f"hub_{key.prefix}_")
    secret = raw.split("_", 2)[2]
    assert secret not in key.hashed_secret
    assert key.matches(secret)
    r = alice_client.get(reverse("workspaces:settings"))
    assert raw.encode() not in r.content


def test_a_key_authenticates_its_own_workspace_only(client, workspace, other_workspace, api_key, other_api_key):
    r = client.get("/api/v1/workspace/", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert r.status_code == 200
    assert r.json()["slug"] == "alice-brand"
    r = client.get("/api/v1/workspace/", HTTP_X_API_KEY=other_api_key)
    assert r.json()["slug"] == "charlie-brand"


def test_it_rejects_missing_wrong_malformed_and_revoked_keys(client, workspace, api_key, alice_client):
    assert client.get("/api/v1/workspace/").status_code in (401, 403)
    bad = api_key[:-2] + "zz"
    r = client.get("/api/v1/workspace/", HTTP_AUTHORIZATION=f"Bearer {bad}")
    assert r.status_code == 401
    assert r.json() == {"error": "Invalid or revoked API key."}
    r = client.get("/api/v1/workspace/", HTTP_AUTHORIZATION="Bearer nonsense")
    assert r.status_code == 401
    key = ApiKey.objects.get()
    alice_client.post(reverse("workspaces:revoke_api_key", args=[key.code]))
    r = client.get("/api/v1/workspace/", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert r.status_code == 401


def test_a_session_does_not_authenticate_the_api(alice_client):
    assert alice_client.get("/api/v1/workspace/").status_code in (401, 403)


def test_the_schema_and_docs_are_served_without_a_cdn(client, db):
    r = client.get("/api/v1/schema/")
    assert r.status_code == 200
    r = client.get("/api/v1/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "cdn." not in html
    assert "/static/drf_spectacular_sidecar/" in html
