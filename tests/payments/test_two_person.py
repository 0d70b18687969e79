"""Two-person payments: a run above the threshold waits for a second finance user, who is not its preparer."""

import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection as db
from django.utils import timezone

from payments import services
from payments.models import Payment, PaymentBatch, TwoPersonRule
from payments.selectors import check_ledger
from tests.conftest import set_role
from tests.payments.helpers import convert, drain, fund, make_connection, make_member, payable
from workspaces.errors import DomainError

ALICE, BOB = "alice@brand.test", "bob@brand.test"


def prepare(workspace, member, *, key="run-1", rail="manual", actor=ALICE):
    batch, _ = services.create_payment_run(
        workspace=workspace,
        idempotency_key=key,
        rail=rail,
        currency="USD",
        member_ids=[member.pk],
        paid_on=timezone.localdate(),
        actor=actor,
    )
    return batch


@pytest.fixture
def owed(workspace):
    fund(workspace, "500.00")
    member = make_member(workspace)
    convert(make_connection(workspace), member, sale="1000.00")  # earns 100.00
    drain()
    services.set_two_person_rule(workspace=workspace, threshold=Decimal("50.00"), currency="USD", actor=ALICE)
    return member


def test_a_run_above_the_threshold_waits_and_its_preparer_cannot_approve_it(workspace, owed):
    batch = prepare(workspace, owed)
    assert batch.status == PaymentBatch.Status.AWAITING_APPROVAL
    assert list(batch.payments.values_list("status", flat=True)) == [Payment.Status.PENDING]
    assert payable(workspace, owed) == Decimal("0.00")  # reserved: nobody can pay it twice meanwhile
    with pytest.raises(DomainError, match="another finance user"):
        services.approve_payment_run(batch=batch, actor=ALICE)
    batch = services.approve_payment_run(batch=batch, actor=BOB)
    assert (batch.status, batch.created_by, batch.approved_by) == ("completed", ALICE, BOB)
    assert list(batch.payments.values_list("status", flat=True)) == [Payment.Status.PAID]
    assert check_ledger(workspace=workspace).ok


def test_a_run_at_or_under_the_threshold_is_sent_at_once(workspace, owed):
    services.set_two_person_rule(workspace=workspace, threshold=Decimal("100.00"), currency="USD")
    assert prepare(workspace, owed).status == PaymentBatch.Status.COMPLETED


def test_a_run_in_another_currency_always_needs_the_second_approver():
    rule = TwoPersonRule(threshold=Decimal("1000"), currency="USD")
    assert rule.needs_approval(currency="EUR", total=Decimal("1"))
    assert not rule.needs_approval(currency="USD", total=Decimal("1000"))


def test_a_paypal_run_is_sent_only_once_approved(workspace, owed, settings, django_capture_on_commit_callbacks):
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_CLIENT_SECRET = "id", "secret"
    with mock.patch("payments.tasks.send_paypal_batch.delay") as send:
        with django_capture_on_commit_callbacks(execute=True):
            batch = prepare(workspace, owed, rail="paypal")
        send.assert_not_called()
        with django_capture_on_commit_callbacks(execute=True):
            services.approve_payment_run(batch=batch, actor=BOB)
        send.assert_called_once_with(batch.pk)
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.QUEUED


def test_declining_gives_the_money_back_and_sends_nothing(workspace, owed):
    batch = prepare(workspace, owed)
    with pytest.raises(DomainError):
        services.decline_payment_run(batch=batch, actor=BOB, reason="")
    batch = services.decline_payment_run(batch=batch, actor=BOB, reason="Wrong member")
    assert batch.status == PaymentBatch.Status.DECLINED and "Wrong member" in batch.status_message
    assert payable(workspace, owed) == Decimal("100.00")
    with pytest.raises(DomainError, match="not waiting"):
        services.approve_payment_run(batch=batch, actor=BOB)
    assert check_ledger(workspace=workspace).ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_approve_the_run_once(workspace, owed):
    batch = prepare(workspace, owed)
    barrier, outcomes = threading.Barrier(2), []

    def approve(actor):
        try:
            barrier.wait(5)
            services.approve_payment_run(batch=PaymentBatch.objects.get(pk=batch.pk), actor=actor)
            outcomes.append("approved")
        except DomainError:
            outcomes.append("refused")
        finally:
            db.close()

    threads = [threading.Thread(target=approve, args=(who,)) for who in (BOB, "carol@brand.test")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["approved", "refused"]
    batch.refresh_from_db()
    assert batch.approved_by in (BOB, "carol@brand.test")
    assert check_ledger(workspace=workspace).ok


def test_the_run_page_shows_who_prepared_and_who_approved(alice_client, workspace, bob, owed):
    batch = prepare(workspace, owed)
    page = alice_client.get(f"/payments/runs/{batch.code}/").content.decode()
    assert 'id="approve-run"' not in page and "someone else must approve it" in page
    assert alice_client.post(f"/payments/runs/{batch.code}/approve/").status_code == 302
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.AWAITING_APPROVAL  # refused: alice prepared it
    set_role(bob, workspace, "finance")
    bob_client = alice_client
    bob_client.force_login(bob)
    bob_client.post(f"/payments/runs/{batch.code}/approve/")
    page = bob_client.get(f"/payments/runs/{batch.code}/").content.decode()
    assert f"by {ALICE}" in page and "Approved" in page and f"by {BOB}" in page
    ledger = b"".join(bob_client.get("/payments/ledger.csv").streaming_content).decode("utf-8-sig")
    assert f"{ALICE},{BOB}" in ledger


def test_a_manager_cannot_approve_and_only_owners_set_the_threshold(bob_client, workspace, bob, owed):
    batch = prepare(workspace, owed)
    assert bob_client.post(f"/payments/runs/{batch.code}/approve/").status_code == 403  # bob is a manager
    set_role(bob, workspace, "finance")
    assert bob_client.post("/payments/two-person/", {"threshold": ""}).status_code == 403
    assert TwoPersonRule.objects.filter(workspace=workspace).exists()


def test_an_owner_sets_and_clears_the_threshold(alice_client, workspace):
    alice_client.post("/payments/two-person/", {"threshold": "250"})
    assert TwoPersonRule.objects.get(workspace=workspace).threshold == Decimal("250.00")
    assert 'id="two-person-rule"' in alice_client.get("/payments/").content.decode()
    alice_client.post("/payments/two-person/", {"threshold": ""})
    assert not TwoPersonRule.objects.filter(workspace=workspace).exists()


def receive(workspace, *, amount="300.00", actor=ALICE):
    from datetime import timedelta

    from payments.models import Settlement
    from tests.payments.helpers import convert as record

    connection = make_connection(workspace)
    record(connection, None, payout=amount, sale=amount)
    drain()
    today = timezone.localdate()
    services.refresh_expected_settlement(connection=connection, today=today)
    settlement = Settlement.objects.filter(connection=connection).latest("id")
    return services.mark_settlement_received(
        settlement=settlement, amount=settlement.expected_amount, received_on=today - timedelta(days=10), actor=actor
    )


def test_a_receipt_above_the_threshold_is_credited_only_once_another_person_confirms_it(workspace):
    from tests.payments.helpers import far_future

    services.set_two_person_rule(
        workspace=workspace, threshold=None, settlement_threshold=Decimal("200.00"), currency="USD"
    )
    settlement = receive(workspace)
    assert settlement.needs_confirmation
    assert not services.credit_settlement(settlement=settlement)
    assert services.credit_due_settlements_all_workspaces(today=far_future()) == 0
    with pytest.raises(DomainError, match="another finance user"):
        services.confirm_settlement_receipt(settlement=settlement, actor=ALICE)
    settlement = services.confirm_settlement_receipt(settlement=settlement, actor=BOB)
    assert settlement.confirmed_by == BOB
    with pytest.raises(DomainError, match="not waiting"):
        services.confirm_settlement_receipt(settlement=settlement, actor="carol@brand.test")
    assert services.credit_due_settlements_all_workspaces(today=far_future()) == 1
    assert check_ledger(workspace=workspace).ok


def test_a_receipt_at_or_under_the_threshold_is_credited_as_before(workspace):
    services.set_two_person_rule(
        workspace=workspace, threshold=Decimal("10"), settlement_threshold=Decimal("300.00"), currency="USD"
    )
    settlement = receive(workspace)
    assert not settlement.needs_confirmation
    assert services.credit_settlement(settlement=settlement)


def test_the_settlement_page_asks_another_person_to_confirm(alice_client, workspace, bob):
    services.set_two_person_rule(workspace=workspace, threshold=None, settlement_threshold=Decimal("1"), currency="USD")
    settlement = receive(workspace, actor=BOB)
    page = alice_client.get(f"/payments/settlements/{settlement.code}/").content.decode()
    assert 'id="confirm-receipt-button"' in page
    alice_client.post(f"/payments/settlements/{settlement.code}/confirm/")
    settlement.refresh_from_db()
    assert settlement.confirmed_by == ALICE
    assert (
        f"Confirmed {settlement.confirmed_at:%Y-%m-%d}"
        in alice_client.get(f"/payments/settlements/{settlement.code}/").content.decode()
    )


def test_a_run_awaiting_approval_is_not_counted_as_paid(workspace, owed):
    from payments.selectors import member_rows, overview_figures

    batch = prepare(workspace, owed)
    assert overview_figures(workspace=workspace, currency="USD")["paid_to_date"] == Decimal("0.00")
    assert [r.paid for r in member_rows(workspace=workspace, currency="USD") if r.member == owed] == [Decimal("0.00")]
    services.approve_payment_run(batch=batch, actor=BOB)
    assert overview_figures(workspace=workspace, currency="USD")["paid_to_date"] == Decimal("100.00")
