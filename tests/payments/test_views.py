import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from payments import services
from payments.models import AccountKind, Payment, PaymentBatch, Settlement
from tests.conftest import set_role
from tests.payments.helpers import balance, convert, drain, fund, make_connection, make_member, payable

D = Decimal


@pytest.fixture
def money_world(workspace):
    conn = make_connection(workspace, label="Impact US")
    ann, ben = make_member(workspace, "Ann"), make_member(workspace, "Ben", paypal=False)
    convert(conn, ann, sale="300.00", payout="40.00")
    convert(conn, ben, sale="100.00", payout="12.00")
    convert(conn, ann, sale="50.00", payout="5.00", status="pending")
    drain()
    fund(workspace, D("100.00"))
    services.refresh_expected_settlement(connection=conn, today=timezone.localdate())
    return {"conn": conn, "ann": ann, "ben": ben}


def test_the_overview_shows_balances_settlements_and_members(alice_client, money_world):
    response = alice_client.get(reverse("payments:overview"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="available-balance">100.00<' in body
    assert "Impact US" in body and "Expected" in body
    assert "Ann" in body and "30.00" in body and "5.00" in body  # payable and pending
    assert "no PayPal" in body  # Ben
    assert "Make a Payment" in body


def test_the_overview_has_helpful_empty_states(alice_client):
    body = alice_client.get(reverse("payments:overview")).content.decode()
    assert "No settlements expected yet" in body
    assert "No member has earned anything" in body


def test_viewers_read_but_cannot_pay(bob_client, bob, workspace, money_world):
    set_role(bob, workspace, "viewer")
    body = bob_client.get(reverse("payments:overview")).content.decode()
    assert "Make a Payment" not in body
    assert bob_client.get(reverse("payments:pay")).status_code == 403
    assert bob_client.get(reverse("payments:ledger_csv")).status_code == 403
    settlement = Settlement.objects.get(connection=money_world["conn"], status="expected")
    url = reverse("payments:receive_settlement", args=[settlement.code])
    assert bob_client.post(url, {"amount": "1", "received_on": "2026-01-01"}).status_code == 403


def test_finance_marks_a_settlement_received(bob_client, bob, workspace, money_world):
    set_role(bob, workspace, "finance")
    settlement = Settlement.objects.get(connection=money_world["conn"], status="expected")
    page = bob_client.get(reverse("payments:settlement", args=[settlement.code]))
    assert "Mark received" in page.content.decode()
    today = timezone.localdate()
    response = bob_client.post(
        reverse("payments:receive_settlement", args=[settlement.code]),
        {"amount": "50.00", "received_on": today.isoformat(), "reference": "WIRE-1"},
        follow=True,
    )
    assert "A difference of -2.00 USD was booked" in response.content.decode()
    settlement.refresh_from_db()
    assert (settlement.status, settlement.reference, settlement.received_by) == ("received", "WIRE-1", bob.email)
    assert balance(workspace, AccountKind.IN_TRANSIT) == D("50.00")


def test_a_bad_received_amount_is_a_clear_error_not_a_500(alice_client, money_world):
    settlement = Settlement.objects.get(connection=money_world["conn"], status="expected")
    url = reverse("payments:receive_settlement", args=[settlement.code])
    response = alice_client.post(url, {"amount": "-3", "received_on": "nonsense"}, follow=True)
    body = response.content.decode()
    assert response.status_code == 400  # the form again, each error on its field
    assert "greater than or equal to 0" in body and "Enter a valid date" in body
    settlement.refresh_from_db()
    assert settlement.status == "expected"


def test_make_a_payment_review_then_confirm_once(alice_client, workspace, money_world):
    ann, ben = money_world["ann"], money_world["ben"]
    select = alice_client.get(reverse("payments:pay"))
    assert "Ann" in select.content.decode()
    today = timezone.localdate().isoformat()
    form = {
        "currency": "USD",
        "rail": "paypal",
        "members": [str(ann.code), str(ben.code)],
        "paid_on": today,
    }
    review = alice_client.post(reverse("payments:pay"), form)
    body = review.content.decode()
    assert review.status_code == 200
    assert 'id="review-total">30.00<' in body  # Ben is blocked for PayPal
    assert "No PayPal email on file." in body
    key = review.context["key"]
    confirm = {**form, "rail": "manual", "reference": "BANK-9", "idempotency_key": key}
    first = alice_client.post(reverse("payments:confirm_pay"), confirm)
    second = alice_client.post(reverse("payments:confirm_pay"), confirm)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert PaymentBatch.objects.count() == 1
    assert Payment.objects.filter(status="paid").count() == 2
    assert payable(workspace, ann) == 0 and payable(workspace, ben) == 0
    assert balance(workspace, AccountKind.AVAILABLE) == D("60.00")
    run_page = alice_client.get(first["Location"]).content.decode()
    assert "BANK-9" in run_page and "Ann" in run_page


def test_a_payment_above_the_balance_is_refused_with_the_reason(alice_client, workspace, money_world):
    conn = money_world["conn"]
    cal = make_member(workspace, "Cal")
    convert(conn, cal, sale="2000.00", payout="300.00")
    drain()
    form = {
        "currency": "USD",
        "rail": "manual",
        "select_all": "on",
        "paid_on": timezone.localdate().isoformat(),
    }
    review = alice_client.post(reverse("payments:pay"), form).content.decode()
    assert "exceeds the available balance by" in review
    assert 'id="confirm-form"' not in review
    response = alice_client.post(reverse("payments:confirm_pay"), {**form, "idempotency_key": "k"}, follow=True)
    assert "exceeds the available balance of 100.00" in response.content.decode()
    assert not PaymentBatch.objects.exists()


def test_an_empty_selection_is_explained(alice_client, money_world):
    response = alice_client.post(reverse("payments:pay"), {"currency": "USD", "rail": "manual"})
    assert response.status_code == 400
    assert "Select at least one member" in response.content.decode()


def test_the_statement_shows_earnings_and_payments(alice_client, workspace, money_world):
    ann = money_world["ann"]
    services.create_payment_run(
        workspace=workspace,
        idempotency_key="s",
        rail="manual",
        currency="USD",
        member_ids=[ann.pk],
        reference="BANK-2",
        paid_on=timezone.localdate(),
    )
    body = alice_client.get(reverse("payments:statement", args=[ann.code])).content.decode()
    assert 'id="payable-USD">0.00<' in body
    assert "BANK-2" in body and "Paid" in body and "30.00" in body


def test_the_ledger_export_streams_every_entry(alice_client, workspace, money_world):
    response = alice_client.get(reverse("payments:ledger_csv"))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["transaction", "posted_at", "kind"]
    debits = sum(D(r[8]) for r in rows[1:] if r[8])
    credits = sum(D(r[9]) for r in rows[1:] if r[9])
    assert debits == credits > 0


def test_a_failed_payment_can_be_retried_from_its_run(alice_client, workspace, money_world):
    ann = money_world["ann"]
    batch, _ = services.create_payment_run(
        workspace=workspace,
        idempotency_key="r",
        rail="manual",
        currency="USD",
        member_ids=[ann.pk],
        paid_on=timezone.localdate(),
    )
    payment = batch.payments.get()
    services.fail_payment(payment=payment, status="returned", message="bank returned it")
    page = alice_client.get(reverse("payments:run", args=[batch.code])).content.decode()
    assert "Retry" in page and "bank returned it" in page
    response = alice_client.post(reverse("payments:retry", args=[payment.code]))
    assert response.status_code == 302
    assert Payment.objects.filter(retry_of=payment, status="paid").exists()
    assert payable(workspace, ann) == 0
    again = alice_client.post(reverse("payments:retry", args=[payment.code]), follow=True)
    assert "already retried" in again.content.decode()


def test_history_lists_runs(alice_client, workspace, money_world):
    assert "No payments yet" in alice_client.get(reverse("payments:history")).content.decode()


def test_test_members_are_left_out_of_balances(alice_client, workspace, money_world):
    tester = make_member(workspace, "QA Tester", is_test=True)
    convert(money_world["conn"], tester, sale="1000.00", payout="100.00")
    drain()
    page = alice_client.get(reverse("payments:overview")).content.decode()
    assert "QA Tester" not in page
    owed = re.search(r'<span class="v">([0-9,.]+)</span><span class="k">Owed to members</span>', page)
    assert owed and owed.group(1) == "40.00"  # Ann 30.00 and Ben 10.00; the test member's 100.00 left out


def test_statements_say_what_happened_in_words(alice_client, workspace, money_world):
    conversion = convert(money_world["conn"], money_world["ann"], sale="20.00", status="pending", external_id="DEMO-1")
    from tracking.services import change_conversion_status

    change_conversion_status(conversion=conversion, status="approved")
    drain()
    page = alice_client.get(reverse("payments:statement", args=[money_world["ann"].code])).content.decode()
    assert "Conversion DEMO-1 approved" in page
    assert "status_changed" not in page


def test_make_a_payment_has_select_all_and_a_running_total(alice_client, money_world):
    page = alice_client.get(reverse("payments:pay")).content.decode()
    assert "data-select-all" in page and 'data-amount="30.00"' in page and "data-running-total" in page


def test_a_settlement_form_error_is_marked_on_its_field_and_keeps_what_was_typed(alice_client, money_world):
    settlement = Settlement.objects.filter(status="expected").first()
    future = (timezone.localdate() + timezone.timedelta(days=9)).isoformat()
    response = alice_client.post(
        reverse("payments:receive_settlement", args=[settlement.code]),
        {"amount": "12.34", "received_on": future, "reference": "WIRE-9"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The date received cannot be in the future." in page
    assert 'aria-invalid="true"' in page and 'value="12.34"' in page and 'value="WIRE-9"' in page
