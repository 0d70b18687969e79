"""Open the dashboard, change the date range, and download a report as CSV."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reports.rollups import rebuild_rollups
from tests.conftest import PASSWORD, wait_for_js
from tests.reports.reportdata import build_report_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_narrows_the_range_and_downloads_a_csv(live_server, browser_page, workspace, alice):
    build_report_world(workspace)
    rebuild_rollups(workspace=workspace)
    page = browser_page
    page.goto(live_server.url + "/dashboard/")
    page.fill("input[name=username]", alice.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")
    stats = page.locator("#stats")
    assert "9" in stats.locator(".stat", has_text="Clicks").first.inner_text()
    # Charts are drawn by the vendored Chart.js (no CDN).
    wait_for_js(page, "document.querySelector('#daily-chart')._chart !== undefined")

    # Only the day before yesterday: 4 clicks, 1 conversion.
    day = (timezone.localdate() - timedelta(days=2)).isoformat()
    page.fill("#f-start", day)
    page.fill("#f-end", day)
    page.dispatch_event("#f-start", "change")
    assert page.locator("#f-preset").input_value() == "custom"
    page.click("#f-apply")
    page.wait_for_url(f"**/dashboard/?*start={day}*")
    assert page.locator("#range-label").inner_text().startswith(f"{day} to {day}")
    assert page.locator("#stats .stat").first.locator(".v").inner_text() == "4"

    # The by-member report keeps the range; its CSV downloads with it.
    page.click("text=Top members >> xpath=.. >> text=all")
    page.wait_for_url("**/reports/members/**")
    page.wait_for_selector("#report-table tbody tr")
    assert page.locator("#report-table tbody tr").count() == 1
    with page.expect_download() as download_info:
        page.click("#download-csv")
    download = download_info.value
    assert download.suggested_filename == f"performance-by-member-{day}-{day}.csv"
    lines = open(download.path(), encoding="utf-8-sig").read().splitlines()
    assert lines[0].startswith("member,member_code,affiliate_id,clicks")
    assert lines[1].startswith("Ava,")
    assert ",4,3,1," in lines[1]
