"""The pages work in a real browser under the Content-Security-Policy: nothing is refused.

Chromium reports every refused script, style, image or connection as a
``securitypolicyviolation`` event and a console error; the pages below exercise
htmx (a live preview, a swapped field), Chart.js and our own scripts.
"""

import pytest

from offers.models import NetworkConnection
from reports.rollups import rebuild_rollups
from tests.conftest import PASSWORD, wait_for_js
from tests.payments.helpers import convert, drain, fund, make_connection, make_member
from tests.reports.reportdata import build_report_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.effectiveDirective} refused ${e.blockedURI || "inline"} at ${where}`);
});
"""


def _watch(page):
    """Console errors and uncaught exceptions of ``page``, and from now on its policy violations."""
    problems = []

    def on_console(msg):
        # htmx reports a request it cancelled for a newer one (hx-sync="this:replace") as an error.
        if msg.type == "error" and not msg.text.startswith(("htmx:sendAbort", "htmx:afterRequest")):
            problems.append(f"console: {msg.text} ({msg.location.get('url')})")

    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return problems


def _violations(page):
    return page.evaluate("window.__violations")


def test_the_dashboard_an_offer_form_and_the_payments_overview_run_under_the_policy(
    live_server, browser_page, workspace, alice
):
    build_report_world(workspace)
    rebuild_rollups(workspace=workspace)
    NetworkConnection.objects.create(workspace=workspace, kind="impact", label="Impact main")
    connection = make_connection(workspace)
    ann = make_member(workspace, "Ann Creator")
    convert(connection, ann, sale="400.00", payout="60.00")
    drain()
    fund(workspace, "100.00")
    page = browser_page
    problems = _watch(page)

    page.goto(live_server.url + "/login/")
    response = page.request.get(live_server.url + "/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("input[name=username]", alice.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")

    # The dashboard's chart is drawn, and picking a date still switches the range to "Custom".
    wait_for_js(page, "document.querySelector('#daily-chart')._chart !== undefined")
    page.fill("#f-start", "2026-01-01")
    page.dispatch_event("#f-start", "change")
    assert page.locator("#f-preset").input_value() == "custom"
    assert _violations(page) == []

    # The offer form: htmx rewrites the offer URL and keeps the live preview up to date.
    page.goto(live_server.url + "/offers/new/link-tracking/")
    page.fill("input[name=name]", "Spring Tents")
    page.select_option("select[name=connection]", label="Impact main (impact.com)")
    page.fill("input[name=offer_url]", "https://shop.brand.test/c/1/2/3")
    page.click("text=Add network tracking parameters")
    wait_for_js(page, "document.querySelector('input[name=offer_url]').value.includes('subId1=')")
    page.locator("#preview-url").wait_for()
    assert "subId1=" in page.locator("#preview-url").inner_text()
    assert _violations(page) == []

    # The Payments Overview draws its chart; the review page's confirm form still sends once.
    page.goto(live_server.url + "/payments/")
    wait_for_js(page, "document.querySelector('canvas[data-chart]')._chart !== undefined")
    assert _violations(page) == []
    page.click("text=Make a Payment")
    page.check(f"input[name=members][value='{ann.code}']")
    page.fill("input[name=reference]", "BANK-1")
    page.click("#pay-form button[type=submit]")
    page.locator("#confirm-form").wait_for()
    page.click("#confirm-form button[type=submit]")
    page.wait_for_selector("text=Payment run of 40.00 USD created.")
    assert _violations(page) == []
    assert problems == []


def test_the_api_docs_run_under_the_policy(live_server, browser_page):
    page = browser_page
    problems = _watch(page)
    page.goto(live_server.url + "/api/v1/docs/")
    page.locator("text=/api/v1/reports/by-member/").first.wait_for()
    page.wait_for_timeout(300)  # let Swagger UI finish rendering its icons and styles
    assert _violations(page) == []
    assert problems == []
