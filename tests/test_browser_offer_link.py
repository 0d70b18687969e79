"""A brand manager creates an offer, a member and a link in the browser, then the link is followed."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Error as PlaywrightError

from offers.models import Link, Member, NetworkConnection, Offer
from tests.conftest import PASSWORD, wait_for_js
from tracking.models import Click

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOP = "https://shop.brand.test"


def test_a_link_made_in_the_ui_lands_on_the_offer_url_with_the_clicks_transaction_id(
    live_server, browser_page, alice, workspace, settings
):
    try:
        reverse("tracking:click", kwargs={"code": "AbCd1234"})
    except NoReverseMatch:
        pytest.skip("the click redirect /c/<code> is not routed")
    settings.CLICK_BUFFER = "direct"  # the click row exists as soon as the redirect answers
    settings.SITE_URL = live_server.url
    NetworkConnection.objects.create(workspace=workspace, kind="impact", label="Impact main")
    page = browser_page

    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", alice.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")

    # A member.
    page.goto(live_server.url + "/members/new/")
    page.fill("input[name=name]", "Ava Trails")
    page.fill("input[name=email]", "ava@creators.test")
    page.click("button:has-text('Save member')")
    page.wait_for_url("**/members/*/")
    member = Member.objects.get(workspace=workspace)

    # An offer: Add Offer -> Link Tracking Offer, with the network's parameters added by the button.
    page.goto(live_server.url + "/offers/")
    page.click("text=Add offer")
    page.click("text=Create a Link Tracking Offer")
    page.fill("input[name=name]", "Spring Tents")
    # Only the payout fields the chosen option uses are shown.
    page.select_option("select[name=payout_type]", "passthrough")
    assert not page.locator("input[name=payout_flat]").is_visible()
    assert not page.locator("input[name=payout_percent]").is_visible()
    page.select_option("select[name=payout_type]", "flat")
    assert page.locator("input[name=payout_flat]").is_visible()
    assert not page.locator("input[name=payout_percent]").is_visible()
    page.fill("input[name=payout_flat]", "5")
    page.select_option("select[name=connection]", label="Impact main (impact.com)")
    page.fill("input[name=offer_url]", f"{SHOP}/c/1/2/3")
    page.click("text=Add network tracking parameters")
    expected_url = f"{SHOP}/c/1/2/3?subId1={{transaction_id}}&subId2={{affiliate_id}}"
    wait_for_js(page, "url => document.querySelector('input[name=offer_url]').value === url", arg=expected_url)
    page.fill("input[name=utm_source]", "hub")
    # The live preview shows where a click lands, for the sample member.
    page.locator("#preview-url").wait_for()
    assert f"subId2={member.affiliate_id}" in page.locator("#preview-url").inner_text()
    page.click("button:has-text('Create offer')")
    page.wait_for_url("**/offers/*/")
    offer = Offer.objects.get(workspace=workspace)
    assert offer.offer_url == expected_url
    assert page.locator(".badge.active").first.is_visible()

    # A link for the member.
    page.click("a[role=button]:has-text('Generate links')")
    page.wait_for_url("**/links/new/?offer=*")
    page.select_option("select[name=members]", str(member.code))
    page.click("button:has-text('Generate')")
    page.locator("text=1 link created").wait_for()
    link = Link.objects.get(workspace=workspace)
    shown = page.locator(f"#link-{link.code}").inner_text()
    assert shown == f"{live_server.url}/c/{link.code}"

    # Follow it like a visitor. Playwright cannot intercept the target of a redirect, and the shop's
    # host does not resolve here, so the request the browser makes after the 302 is what we check.
    with page.expect_request(lambda r: r.url.startswith(SHOP + "/")) as landing:
        try:
            page.goto(shown)
        except PlaywrightError:
            pass  # the shop itself is unreachable from the test machine
    landed = landing.value
    assert landed.redirected_from is not None and landed.redirected_from.url == shown
    click = Click.objects.get(link=link)
    query = parse_qs(urlsplit(landed.url).query)
    assert query["subId1"] == [click.transaction_id]
    assert query["subId2"] == [member.affiliate_id]
    assert query["utm_source"] == ["hub"]
    assert urlsplit(landed.url).path == "/c/1/2/3"
