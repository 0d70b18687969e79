"""In a browser: an owner adds a webhook, sends a test event, reads the delivery log and resends; alerts."""

import pytest
import respx
from standardwebhooks import Webhook

from outbound import services
from outbound.models import Delivery, WebhookEndpoint
from tests.conftest import PASSWORD
from tests.outbound.helpers import HOOK_URL, start_cursors
from tests.tracking.postback_world import make_connection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base, user, path):
    page.goto(base + path)
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**" + path)


def fits(page) -> bool:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return width <= inner


@respx.mock
def test_an_owner_adds_an_endpoint_tests_it_and_resends_from_the_log(
    live_server, browser_page, alice, workspace, queued
):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server.url, alice, "/settings/webhooks/")
    page.get_by_text("No webhook endpoints yet").wait_for()
    page.click("text=Add endpoint")
    page.fill("input[name=url]", "http://127.0.0.1/in")
    page.click("#webhook-form button[type=submit]")
    page.locator(".error", has_text="https://").wait_for()  # the refusal sits by the field
    page.fill("input[name=url]", HOOK_URL)
    page.check("input[value='payment.sent']")
    page.click("#webhook-form button[type=submit]")
    secret = page.input_value("#secret")
    assert secret.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get(workspace=workspace)

    page.click("text=Go to the endpoint")
    page.click("text=Send test event")
    page.get_by_text("Test event queued").wait_for()
    assert queued == [("endpoint", endpoint.pk)]
    # The worker's part, here: send it to a receiver that checks the signature.
    route = respx.post(HOOK_URL).respond(200, text="thanks")
    services.deliver_target(kind="endpoint", target_id=endpoint.pk)
    request = route.calls.last.request
    assert Webhook(secret).verify(request.content, dict(request.headers))["type"] == "webhook.test"

    page.reload()
    page.locator("td .badge.delivered").wait_for()
    page.click("text=Details")
    assert "HTTP 200" in page.locator("table").inner_text() and "thanks" in page.content()
    page.click("button:has-text('Resend')")
    page.get_by_text("Queued again").wait_for()
    assert Delivery.objects.filter(endpoint=endpoint).count() == 2

    for width in (390, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        for path in ("/settings/webhooks/", f"/settings/webhooks/{endpoint.code}/"):
            page.goto(live_server.url + path)
            assert fits(page), (path, width)


def test_an_open_alert_shows_on_the_dashboard_and_the_owner_changes_a_threshold(
    live_server, browser_page, alice, workspace
):
    start_cursors()
    make_connection(workspace, label="Impact US", status="broken", status_message="Impact answered 401")
    services.evaluate_alerts(workspace=workspace)
    page = browser_page
    sign_in(page, live_server.url, alice, "/dashboard/")
    strip = page.locator("#open-alerts")
    assert "Impact US: the connection is broken" in strip.inner_text()
    page.click("text=all alerts and thresholds")
    page.wait_for_url("**/alerts/")
    assert "Impact answered 401" in page.locator("table").first.inner_text()
    page.fill("input[name=settlement_overdue_days]", "9")
    page.click("text=Save thresholds")
    page.get_by_text("Thresholds saved").wait_for()
    assert services.settings_for(workspace).settlement_overdue_days == 9
    page.set_viewport_size({"width": 390, "height": 900})
    page.reload()
    assert fits(page)
