"""Save a report with its filters, pin it, and reach it again from the navigation."""

import pytest

from reports.models import SavedReport
from reports.rollups import rebuild_rollups
from tests.conftest import PASSWORD
from tests.reports.reportdata import build_report_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_saves_and_pins_a_report(live_server, browser_page, workspace, alice):
    build_report_world(workspace)
    rebuild_rollups(workspace=workspace)
    page = browser_page
    page.goto(live_server.url + "/reports/offers/?preset=7d")
    page.fill("input[name=username]", alice.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/reports/offers/**")

    page.click("#save-report summary")
    page.fill("#save-name", "Offers this week")
    page.check("#save-pinned")
    page.check("#save-shared")
    page.select_option("#save-schedule", "weekly")
    page.click("#save-submit")
    page.wait_for_selector("text=Saved as Offers this week.")
    saved = SavedReport.objects.get()
    assert (saved.report, saved.pinned, saved.shared, saved.schedule) == ("offers", True, True, "weekly")
    assert "preset=7d" in saved.query

    # The pin is in the navigation of every page and opens the report with its filters.
    page.goto(live_server.url + "/members/")
    page.click("nav >> text=Offers this week")
    page.wait_for_url("**/reports/offers/?preset=7d*")
    assert page.locator("#f-preset").input_value() == "7d"

    # Unpinned from the saved list, it leaves the navigation.
    page.goto(live_server.url + "/reports/saved/")
    row = page.locator("#saved-reports tr", has_text="Offers this week")
    row.locator("input[name=pinned]").uncheck()
    row.locator("button", has_text="Save").click()
    page.wait_for_selector("text=Offers this week saved.")
    assert page.locator("nav >> text=Offers this week").count() == 0
