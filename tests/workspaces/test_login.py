import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

PAGES = ["reports:dashboard", "workspaces:settings"]


@pytest.mark.parametrize("name", PAGES)
def test_it_requires_login(client, db, name):
    r = client.get(reverse(name))
    assert r.status_code == 302
    assert r["Location"].startswith("/login/")


def test_it_logs_in_and_lands_on_the_dashboard(client, alice, workspace):
    r = client.post("/login/", {"username": "alice@brand.test", "password": PASSWORD}, follow=True)
    assert r.redirect_chain[-1][0] == reverse("reports:dashboard")
    assert b"Sales Tracking" in r.content
    assert b"Alice Brand" in r.content


def test_it_rejects_a_wrong_password(client, alice, workspace):
    r = client.post("/login/", {"username": "alice@brand.test", "password": "nope"})
    assert r.status_code == 200
    assert b"did not match" in r.content


def test_it_logs_out(alice_client):
    r = alice_client.post("/logout/")
    assert r.status_code == 302
    assert alice_client.get(reverse("reports:dashboard")).status_code == 302


def test_a_user_without_workspace_is_asked_to_create_one(client, charlie):
    client.force_login(charlie)
    r = client.get(reverse("reports:dashboard"))
    assert r["Location"] == reverse("workspaces:create")
    r = client.post(reverse("workspaces:create"), {"name": "Charlie Co", "currency": "EUR"})
    assert r.status_code == 302
    r = client.get(reverse("reports:dashboard"))
    assert r.status_code == 200
    assert b"Charlie Co" in r.content
