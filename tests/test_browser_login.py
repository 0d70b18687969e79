"""Log in to the demo in headless Chromium and see the dashboard."""

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_demo_owner_logs_in_and_sees_the_dashboard(live_server, browser_page):
    call_command("seeddemo")
    page = browser_page
    page.goto(live_server.url + "/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "owner@demo.test")
    page.fill("input[name=password]", "demo-password-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")
    assert page.locator("h2", has_text="Sales Tracking").is_visible()
    assert page.locator(".ws-switcher summary").inner_text().strip() == "Demo Outdoor Co"
