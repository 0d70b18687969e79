"""In Chromium: a manager opens an offer, sends a test conversion, and follows it to the conversion page."""

import pytest

from offers.models import Member
from tests.conftest import PASSWORD, wait_for_js
from tests.tracking.postback_world import make_connection, make_offer
from tracking.models import Conversion, PostbackLog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_send_test_conversion_end_to_end(live_server, browser_page, workspace, alice):
    connection = make_connection(workspace, "shareasale")
    offer = make_offer(
        workspace, connection, name="Tent sale", offer_url="https://shop.test/?afftrack={transaction_id}"
    )
    Member.objects.create(workspace=workspace, name="Tess Test", is_test=True)

    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", alice.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")

    page.goto(f"{live_server.url}/offers/{offer.code}/")
    panel = page.locator("#postback-panel")
    assert (
        f"/postback/shareasale/{connection.postback_secret}?afftrack=!!afftrack!!"
        in panel.locator("#pb-url").inner_text()
    )
    assert "<img src=" in panel.locator("#pb-pixel").inner_text()
    panel.locator("[data-copy='#pb-url']").click()
    wait_for_js(page, "document.querySelector(\"[data-copy='#pb-url']\").textContent === 'Copied'")

    page.click("#send-test-conversion")
    page.locator("#test-result").wait_for()
    assert page.locator("#test-outcome").inner_text() == "accepted"
    tid = page.locator("#test-tid").inner_text()
    conversion = Conversion.objects.get()
    assert conversion.click.transaction_id == tid
    assert PostbackLog.objects.get().is_test

    page.click("#test-conversion-link")
    page.wait_for_url(f"**/conversions/{conversion.code}/")
    assert "Tess Test" in page.content()
    assert page.locator("#conversion-status").inner_text() == "Pending"
    assert page.locator("#payout-formula").inner_text() == "10% of sale 100.00 = 10.00"


def test_without_a_test_member_the_panel_says_what_to_do(live_server, browser_page, workspace, alice):
    offer = make_offer(workspace, make_connection(workspace, "impact"))
    page = browser_page
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", alice.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")
    page.goto(f"{live_server.url}/offers/{offer.code}/")
    page.click("#send-test-conversion")
    page.locator("#test-result").wait_for()
    assert "no test member" in page.locator("#test-result").inner_text()
