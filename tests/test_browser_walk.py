"""Every page in the navigation, for every role, on a desktop and on a phone.

On the demo workspace (``seeddemo``), signed in as the owner, a manager, finance and a viewer, each
page of the navigation (and a detail page of each kind) is opened at 1440 px and at 390 px wide.
Each must answer without a server error, fit the screen (no sideways scrolling of the page itself:
wide tables scroll in their own box), log no console error (a Content-Security-Policy violation is
one), and pass an accessibility scan with axe-core (vendored in tests/tools/vendor/) without a
serious or critical violation.
"""

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from offers.models import Member, Offer
from payments.models import Settlement
from tracking.models import Conversion
from workspaces.models import Membership, Role, Workspace

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).resolve().parent / "tools" / "vendor" / "axe-4.14.1.min.js").read_text()
PASSWORD = "demo-password-1"
NAVIGATION = [
    "/dashboard/",
    "/offers/",
    "/members/",
    "/members/portal/",
    "/links/",
    "/conversions/",
    "/postbacks/",
    "/networks/",
    "/payments/",
    "/reports/",
    "/reports/members/",
    "/review/",
    "/review/rules/",
    "/settings/",
    "/settings/webhooks/",
    "/alerts/",
    "/account/",
]
SERIOUS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => ["serious", "critical"].includes(v.impact))
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}"""


def detail_pages(workspace) -> list[str]:
    offer = Offer.objects.filter(workspace=workspace).first()
    member = Member.objects.filter(workspace=workspace, is_test=False).first()
    conversion = Conversion.objects.filter(workspace=workspace).first()
    settlement = Settlement.objects.filter(workspace=workspace).first()
    return [
        f"/offers/{offer.code}/",
        f"/members/{member.code}/",
        f"/conversions/{conversion.code}/",
        f"/payments/settlements/{settlement.code}/",
        f"/payments/members/{member.code}/",
        f"/members/{member.code}/postbacks/",
    ]


def walk(page, base: str, email: str, paths: list[str]) -> list[str]:
    problems = []
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(base + "/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    for path in paths:
        errors.clear()
        response = page.goto(base + path, wait_until="load")
        where = f"{email} {path} at {page.viewport_size['width']} px"
        if response.status >= 500:
            problems.append(f"{where}: HTTP {response.status}")
            continue
        width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width > inner:
            problems.append(f"{where}: the page is {width} px wide")
        # Injected through the DevTools protocol, which the page's policy does not govern.
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(AXE)
        problems += [f"{where}: {v}" for v in page.evaluate(SERIOUS)]
        problems += [f"{where}: console error {e}" for e in errors]
    return problems


def test_every_page_fits_works_and_passes_the_accessibility_scan(live_server, browser_page, settings):
    settings.SITE_URL = live_server.url
    call_command("seeddemo")
    workspace = Workspace.objects.get(slug="demo-brand")
    viewer = get_user_model().objects.create_user("viewer@demo.test", "viewer@demo.test", PASSWORD)
    Membership.objects.create(workspace=workspace, user=viewer, role=Role.VIEWER)
    paths = NAVIGATION + detail_pages(workspace)
    problems = []
    context = browser_page.context
    for width in (1440, 390):
        for email in ("owner@demo.test", "manager@demo.test", "finance@demo.test", "viewer@demo.test"):
            page = context.browser.new_context(viewport={"width": width, "height": 900}).new_page()
            page.set_default_timeout(15000)
            try:
                problems += walk(page, live_server.url, email, paths)
            finally:
                page.context.close()
    assert not problems, json.dumps(problems, indent=1)
