"""Pages follow the role: controls a role cannot use are hidden, a refusal explains itself inside the
layout, finance lands on Payments; missing pages and errors are the hub's own pages."""

import pytest
from django.urls import path, reverse

from tests.conftest import set_role


@pytest.fixture
def finance_client(bob_client, bob, workspace):
    set_role(bob, workspace, "finance")
    return bob_client


def test_finance_sees_no_owner_controls_in_settings(finance_client):
    page = finance_client.get(reverse("workspaces:settings")).content.decode()
    assert "Send invitation" not in page
    assert reverse("workspaces:create_api_key") not in page
    assert ">Remove<" not in page and ">Change<" not in page
    assert "Only owners change these settings" in page


def test_the_owner_sees_them(alice_client):
    page = alice_client.get(reverse("workspaces:settings")).content.decode()
    assert "Send invitation" in page and reverse("workspaces:create_api_key") in page


def test_a_refusal_is_a_page_in_the_layout_that_says_why(finance_client):
    response = finance_client.post(reverse("workspaces:update_settings"), {"name": "X", "crediting_delay_days": 3})
    assert response.status_code == 403
    page = response.content.decode()
    assert "Sales Tracking" in page  # the navigation is there
    assert "Only owners can do this" in page and "You are finance in" in page


def test_finance_lands_on_payments_after_signing_in(client, bob, workspace):
    set_role(bob, workspace, "finance")
    response = client.post(reverse("login"), {"username": bob.username, "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == reverse("payments:overview")


def test_a_missing_page_is_the_hubs_own_even_under_debug(alice_client, settings):
    settings.DEBUG = True
    response = alice_client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Django tried these URL patterns" not in page
    assert "Page not found" in page and "Sales Tracking" in page


def test_a_missing_object_is_the_hubs_own_page_too(alice_client, settings):
    settings.DEBUG = True
    response = alice_client.get("/offers/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "Sales Tracking" in response.content.decode()


def broken(request):
    raise RuntimeError("boom")


urlpatterns = [path("broken/", broken)]


@pytest.mark.urls(__name__)
def test_a_server_error_is_the_hubs_own_page(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get("/broken/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page and "boom" not in page
