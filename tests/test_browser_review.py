"""A manager works the review queue: ticks held conversions, confirms, and the money becomes payable."""

from datetime import timedelta
from decimal import Decimal

import pytest

from risk.models import Case
from risk.services import evaluate_new_conversion_events_all_workspaces as evaluate
from tests.conftest import PASSWORD
from tests.payments.helpers import drain, payable
from tests.risk.helpers import convert, world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_releases_one_held_conversion_and_rejects_another(live_server, browser_page, workspace, bob):
    evaluate()
    w = world(workspace)
    fine, fraud = convert(w, after=timedelta(seconds=2)), convert(w, after=timedelta(seconds=3), sale="500.00")
    drain()
    evaluate()
    assert payable(workspace, w["member"]) == Decimal("0.00")

    page = browser_page
    page.goto(live_server.url + "/review/")
    page.fill("input[name=username]", bob.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/review/")
    assert page.locator("#review-queue tbody tr").count() == 2

    # Release the first, from the queue: the confirmation page names it before anything happens.
    page.check(f"input[name=cases][value='{Case.objects.get(conversion=fine).code}']")
    page.select_option("select[name=decision]", "release")
    page.fill("#decide-form input[name=reason]", "Regular customer")
    page.click("#decide-form button[type=submit]")
    page.wait_for_selector("text=Release 1 held conversion?")
    assert Case.objects.get(conversion=fine).status == Case.Status.HELD
    page.click("#confirm-decision button[type=submit]")
    page.wait_for_selector("text=Released: 1 conversion.")
    assert page.locator("#review-queue tbody tr").count() == 1

    # Reject the other from its own page, with its evidence on screen.
    page.click("#review-queue tbody a")
    assert page.locator("#timing").inner_text() == "3 s"
    page.check("input[name=decision][value=reject]")
    page.fill("#case-decide input[name=reason]", "Card testing")
    page.click("#case-decide button[type=submit]")
    page.click("#confirm-decision button[type=submit]")
    page.wait_for_selector("#review-empty")

    drain()
    assert payable(workspace, w["member"]) == Decimal("10.00")
    fraud.refresh_from_db()
    assert fraud.status == "rejected"
    case = Case.objects.get(conversion=fraud)
    assert (case.status, case.decided_by, case.decision_reason) == ("rejected", bob.email, "Card testing")
