"""The member portal in a browser, on a desktop and on a 390 px phone: sign-in by link, home,
links and the deep-link builder, statement, payout settings and the tax form."""

import re
from unittest import mock

import pytest
from django.core import mail

from portal import services
from portal.models import TaxForm
from tests.portal.helpers import member_rows
from tracking.services import change_conversion_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1440, 390]


@pytest.fixture
def emails_sent_at_once():
    """The worker's part, run in place: the emails land in mail.outbox."""
    with (
        mock.patch(
            "portal.tasks.send_sign_in_email.delay",
            side_effect=lambda ids, purpose: services.send_sign_in_email(access_ids=ids, purpose=purpose),
        ),
        mock.patch(
            "portal.tasks.send_payout_email_confirmation.delay",
            side_effect=lambda pk: services.send_payout_email_confirmation(change_id=pk),
        ),
    ):
        yield


def emailed_url(pattern: str) -> str:
    return re.search(pattern, mail.outbox[-1].body).group(0)


def fits(page):
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), page.url


def sign_in(page, live_server, email):
    page.goto(live_server.url + "/portal/")
    page.wait_for_url("**/portal/sign-in/**")
    fits(page)
    page.fill("input[name=email]", email)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your email")
    page.goto(emailed_url(r"http://\S+/portal/\S+/sign-in/\S+/"))
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_member_signs_in_by_link_and_builds_a_deep_link(
    width, live_server, browser_page, settings, emails_sent_at_once, ava, ben
):
    settings.SITE_URL = live_server.url
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    rows = member_rows(ava.member)
    member_rows(ben.member, tag="ben")

    sign_in(page, live_server, "ava@creators.test")
    assert page.locator("[data-figure=clicks]").inner_text() == "1"
    assert page.locator("[data-figure=pending]").inner_text() == "10.00"
    assert page.locator("canvas[data-chart]").count() == 1
    fits(page)

    page.click("nav[aria-label=Portal] >> text=Links")
    card = page.locator(f"[data-link='{rows['link'].code}']")
    assert rows["link"].url in card.inner_text()
    card.locator("button[data-copy]").click()
    page.wait_for_selector(f"[data-link='{rows['link'].code}'] >> text=Copied")
    assert page.evaluate("navigator.clipboard.readText()") == rows["link"].url
    assert page.locator(".link-card").count() == 1  # Ben's link is not Ava's
    fits(page)

    # The deep-link builder: another site is refused next to the field, the brand's own is a new link.
    page.fill("input[name=url]", "https://evil.test/boots")
    page.click("#deep-link button[type=submit]")
    assert "must be https/http URLs on: shop.test" in page.locator("#id_url_error").inner_text()
    fits(page)
    page.fill("input[name=url]", "https://shop.test/boots")
    page.click("#deep-link button[type=submit]")
    page.wait_for_selector("text=Your deep link is ready")
    assert "Lands on https://shop.test/boots" in page.content()
    fits(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_member_reads_the_statement_and_sets_payout_and_tax_form(
    width, live_server, browser_page, settings, emails_sent_at_once, ava
):
    from payments import services as payment_services

    settings.SITE_URL = live_server.url
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    rows = member_rows(ava.member)
    change_conversion_status(conversion=rows["conversion"], status="approved", reason="", actor="alice")
    payment_services.process_conversion_events_all_workspaces(limit=100)

    sign_in(page, live_server, "ava@creators.test")
    page.click("nav[aria-label=Portal] >> text=Payments")
    assert page.locator("#payable-USD").inner_text() == "10.00"
    assert "10.00 USD" in page.locator("#statement-lines").inner_text()
    assert "5.00 USD" in page.locator("#member-payments").inner_text()
    fits(page)

    # Payout settings: the new email waits for the emailed confirmation.
    page.click("nav[aria-label=Portal] >> text=Settings")
    page.fill("input[name=paypal_email]", "ava.new@paypal.test")
    page.click("#payout button[type=submit]")
    page.wait_for_selector("text=Waiting for you to confirm")
    fits(page)
    page.goto(emailed_url(r"http://\S+/portal/\S+/payout-email/\S+/"))
    page.click("button[type=submit]")
    page.wait_for_selector("text=now go to")
    ava.member.refresh_from_db()
    assert ava.member.paypal_email == "ava.new@paypal.test"

    # Tax form: a signature that is not the legal name is refused next to the field.
    page.goto(live_server.url + "/portal/tax-form/")
    page.check("input[value=w9]")
    page.fill("input[name=legal_name]", "Ava Trails")
    page.fill("input[name=country]", "US")
    page.fill("input[name=address]", "1 Trail Rd, Boulder CO")
    page.fill("input[name=tax_id]", "123-45-6789")
    page.fill("input[name=signed_name]", "Ava")
    page.click("button:has-text('Sign and send')")
    assert "exactly as above" in page.locator("#id_signed_name_error").inner_text()
    fits(page)
    page.fill("input[name=tax_id]", "123-45-6789")
    page.fill("input[name=signed_name]", "Ava Trails")
    page.click("button:has-text('Sign and send')")
    page.wait_for_selector("text=Tax form saved")
    assert "•••• 6789" in page.locator("#tax").inner_text()
    assert "123-45-6789" not in page.content()
    assert TaxForm.objects.get(member=ava.member).tax_id_last4 == "6789"
    fits(page)


PORTAL_PAGES = [
    "/portal/",
    "/portal/links/",
    "/portal/conversions/",
    "/portal/statement/",
    "/portal/settings/",
    "/portal/tax-form/",
]


def test_every_portal_page_fits_and_passes_the_accessibility_scan(live_server, browser_page, settings):
    from django.core.management import call_command

    from offers.models import Link
    from portal.models import PortalAccess
    from tests.test_browser_walk import AXE, SERIOUS
    from tracking.models import Conversion

    settings.SITE_URL = live_server.url
    call_command("seeddemo")
    access = PortalAccess.objects.get(member__name="Ava Trails")
    link = Link.objects.filter(member=access.member).first()
    conversion = Conversion.objects.filter(member=access.member).first()
    paths = [*PORTAL_PAGES, f"/portal/links/{link.code}/", f"/portal/conversions/{conversion.code}/"]
    problems = []
    for width in WIDTHS:
        page = browser_page.context.browser.new_context(viewport={"width": width, "height": 900}).new_page()
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.goto(services.issue_sign_in_link(access=access, purpose="sign_in"))
        page.click("button[type=submit]")
        page.wait_for_url("**/portal/")
        for path in paths:
            errors.clear()
            response = page.goto(live_server.url + path, wait_until="load")
            where = f"{path} at {width} px"
            if response.status != 200:
                problems.append(f"{where}: HTTP {response.status}")
                continue
            if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
                problems.append(f"{where}: wider than the screen")
            if not page.evaluate("typeof window.axe !== 'undefined'"):
                page.evaluate(AXE)
            problems += [f"{where}: {v}" for v in page.evaluate(SERIOUS)]
            problems += [f"{where}: console error {e}" for e in errors]
        page.context.close()
    assert not problems, "\n".join(problems)
