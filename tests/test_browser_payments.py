"""Finance marks a settlement received, the scheduled task credits it, and a member gets paid."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments import services
from payments.models import Payment, Settlement
from tests.conftest import PASSWORD, set_role
from tests.payments.helpers import convert, drain, make_connection, make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_receives_a_settlement_and_pays_a_member(live_server, browser_page, workspace, bob):
    set_role(bob, workspace, "finance")
    connection = make_connection(workspace, label="Impact US")
    ann = make_member(workspace, "Ann Creator")
    convert(connection, ann, sale="400.00", payout="60.00")  # Ann earns 40.00
    drain()
    services.create_expected_settlements_all_workspaces(today=timezone.localdate())
    settlement = Settlement.objects.get(connection=connection)

    page = browser_page
    page.goto(live_server.url + "/payments/")
    page.fill("input[name=username]", bob.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/payments/")
    assert page.locator("#available-balance").inner_text() == "0.00"

    # 1. Finance marks the expected settlement received, 2 cents short.
    page.click("text=Impact US")
    page.wait_for_url(f"**/payments/settlements/{settlement.code}/")
    page.fill("#receive-form input[name=amount]", "59.98")
    page.fill("#receive-form input[name=reference]", "IMPACT-WIRE-11")
    page.click("#receive-form button[type=submit]")
    page.wait_for_selector("text=A difference of -0.02 USD was booked")
    assert page.locator("#settlement-status").inner_text() == "Received"

    # 2. The scheduled crediting task runs after the delay has passed.
    settlement.refresh_from_db()
    assert services.credit_due_settlements_all_workspaces(today=settlement.credit_due_on - timedelta(days=1)) == 0
    assert services.credit_due_settlements_all_workspaces(today=settlement.credit_due_on) == 1
    page.goto(live_server.url + "/payments/")
    assert page.locator("#available-balance").inner_text() == "59.98"

    # 3. Make a Payment: review, then confirm (twice, as an impatient double click would).
    page.click("text=Make a Payment")
    page.check("input[data-select-all]")  # "All" ticks every row, and the running total follows
    assert page.locator(f"input[name=members][value='{ann.code}']").is_checked()
    assert page.locator("[data-running-total]").inner_text() == "1 selected: 40.00 USD"
    page.uncheck("input[data-select-all]")
    assert page.locator("[data-running-total]").inner_text() == "0 selected: 0.00 USD"
    page.check(f"input[name=members][value='{ann.code}']")
    page.fill("input[name=reference]", "BANK-77")
    page.click("#pay-form button[type=submit]")
    assert page.locator("#review-total").inner_text() == "40.00"
    page.click("#confirm-form button[type=submit]")
    page.wait_for_selector("text=Payment run of 40.00 USD created.")
    assert Payment.objects.filter(member=ann).count() == 1

    # 4. The member's statement shows the payment as paid and nothing left payable.
    page.click("text=Ann Creator")
    assert page.locator("#payable-USD").inner_text() == "0.00"
    row = page.locator("#member-payments tbody tr").first
    assert "Paid" in row.inner_text() and "40.00" in row.inner_text() and "BANK-77" in row.inner_text()
    assert Payment.objects.get(member=ann).amount == Decimal("40.00")
