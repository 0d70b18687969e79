from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from payments import services
from payments.models import AccountKind, LedgerTransaction, Payment, PaymentBatch
from payments.selectors import check_ledger
from tests.payments.helpers import balance, convert, drain, fund, make_connection, make_member, payable
from workspaces.errors import DomainError

D = Decimal


@pytest.fixture(autouse=True)
def paypal_settings(settings):
    settings.PAYPAL_CLIENT_ID = "client-id"
    settings.PAYPAL_CLIENT_SECRET = "client-secret"


@pytest.fixture
def earners(workspace):
    conn = make_connection(workspace)
    ann, ben, cal = make_member(workspace, "Ann"), make_member(workspace, "Ben"), make_member(workspace, "Cal")
    convert(conn, ann, sale="300.00", payout="40.00")  # ann earns 30
    convert(conn, ben, sale="150.00", payout="20.00")  # ben earns 15
    convert(conn, cal, sale="20.00", payout="3.00")  # cal earns 2
    drain()
    return ann, ben, cal


def run(workspace, members, key="batch-1", rail="manual", **kw):
    return services.create_payment_run(
        workspace=workspace,
        idempotency_key=key,
        rail=rail,
        currency="USD",
        member_ids=[m.pk for m in members],
        paid_on=timezone.localdate(),
        reference="BANK-1",
        **kw,
    )


def test_it_plans_payable_members_with_blocked_ones_and_the_balance(workspace, earners):
    ann, ben, cal = earners
    ben.paypal_email = ""
    ben.save(update_fields=["paypal_email"])
    fund(workspace, D("40.00"))
    plan = services.plan_payment_run(workspace=workspace, currency="USD", rail="paypal", minimum=D("5.00"))
    assert [(r.member.name, r.amount) for r in plan.payable_rows] == [("Ann", D("30.00"))]
    assert [(r.member.name, r.blocked) for r in plan.blocked_rows] == [("Ben", "No PayPal email on file.")]
    assert plan.total == D("30.00") and plan.available == D("40.00") and plan.shortfall == 0


def test_a_manual_run_pays_each_payable_from_the_balance(workspace, earners):
    ann, ben, cal = earners
    fund(workspace, D("100.00"))
    batch, created = run(workspace, [ann, ben])
    assert created and batch.status == "completed" and batch.total == D("45.00")
    assert payable(workspace, ann) == 0 and payable(workspace, ben) == 0 and payable(workspace, cal) == D("2.00")
    assert balance(workspace, AccountKind.AVAILABLE) == D("55.00")
    payment = Payment.objects.get(member=ann)
    assert (payment.status, payment.reference, payment.amount) == ("paid", "BANK-1", D("30.00"))
    assert check_ledger(workspace=workspace).ok


def test_a_double_submit_returns_the_same_run(workspace, earners):
    ann, _, _ = earners
    fund(workspace, D("100.00"))
    first, created = run(workspace, [ann])
    second, created_again = run(workspace, [ann])
    assert created and not created_again and first.pk == second.pk
    assert Payment.objects.count() == 1
    assert balance(workspace, AccountKind.AVAILABLE) == D("70.00")


def test_a_second_run_never_pays_the_same_payable_again(workspace, earners):
    ann, _, _ = earners
    fund(workspace, D("100.00"))
    run(workspace, [ann], key="a")
    with pytest.raises(DomainError, match="Nothing to pay"):
        run(workspace, [ann], key="b")
    assert not PaymentBatch.objects.filter(idempotency_key="b").exists()


def test_a_run_never_exceeds_the_available_balance(workspace, earners):
    ann, ben, _ = earners
    fund(workspace, D("40.00"))
    with pytest.raises(DomainError, match="exceeds the available balance of 40.00"):
        run(workspace, [ann, ben])
    assert not PaymentBatch.objects.exists()
    assert payable(workspace, ann) == D("30.00")
    assert balance(workspace, AccountKind.AVAILABLE) == D("40.00")


def test_the_minimum_leaves_small_payables(workspace, earners):
    ann, ben, cal = earners
    fund(workspace, D("100.00"))
    batch, _ = run(workspace, [ann, ben, cal], minimum=D("10.00"))
    assert set(batch.payments.values_list("member__name", flat=True)) == {"Ann", "Ben"}
    assert payable(workspace, cal) == D("2.00")


def test_blocked_members_are_skipped(workspace, earners):
    ann, ben, _ = earners
    ben.paypal_email = ""
    ben.save(update_fields=["paypal_email"])
    fund(workspace, D("100.00"))
    with mock.patch("payments.tasks.send_paypal_batch.delay"):
        batch, _ = run(workspace, [ann, ben], rail="paypal")
    assert list(batch.payments.values_list("member__name", flat=True)) == ["Ann"]


def test_a_manual_run_needs_a_date(workspace, earners):
    with pytest.raises(DomainError, match="date"):
        services.create_payment_run(
            workspace=workspace, idempotency_key="x", rail="manual", currency="USD", member_ids=[earners[0].pk]
        )


def test_a_paypal_run_is_sent_after_commit(workspace, earners, django_capture_on_commit_callbacks):
    ann, _, _ = earners
    fund(workspace, D("100.00"))
    with mock.patch("payments.tasks.send_paypal_batch.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            batch, _ = run(workspace, [ann], rail="paypal")
    delay.assert_called_once_with(batch.pk)
    payment = batch.payments.get()
    assert (payment.status, payment.receiver) == ("pending", ann.paypal_email)


def test_a_failed_payment_gives_the_money_back_once_and_can_be_retried(workspace, earners):
    ann, _, _ = earners
    fund(workspace, D("100.00"))
    with mock.patch("payments.tasks.send_paypal_batch.delay"):
        batch, _ = run(workspace, [ann], rail="paypal")
    payment = batch.payments.get()
    assert services.fail_payment(payment=payment, status="failed", message="RECEIVER_UNREGISTERED")
    assert not services.fail_payment(payment=payment, status="failed", message="again")
    assert payable(workspace, ann) == D("30.00")
    assert balance(workspace, AccountKind.AVAILABLE) == D("100.00")
    assert LedgerTransaction.objects.filter(key=f"payment-failed:{payment.pk}").count() == 1
    payment.refresh_from_db()
    with mock.patch("payments.tasks.send_paypal_batch.delay"):
        retry = services.retry_payment(payment=payment, actor="alice")
        with pytest.raises(DomainError, match="already retried"):
            services.retry_payment(payment=payment)
    assert retry.idempotency_key == f"retry:{payment.code}"
    assert retry.payments.get().retry_of_id == payment.pk
    assert payable(workspace, ann) == 0
    assert check_ledger(workspace=workspace).ok


def test_a_paid_payment_cannot_be_retried(workspace, earners):
    fund(workspace, D("100.00"))
    batch, _ = run(workspace, [earners[0]])
    with pytest.raises(DomainError, match="Only a failed"):
        services.retry_payment(payment=batch.payments.get())


def test_paypal_runs_need_credentials(workspace, earners, settings):
    settings.PAYPAL_CLIENT_SECRET = ""
    fund(workspace, D("100.00"))
    with pytest.raises(DomainError, match="PayPal is not configured"):
        run(workspace, [earners[0]], rail="paypal")


def test_run_pages_show_paid_apart_from_returned(alice_client, workspace):
    from django.urls import reverse

    from payments.models import Payment
    from tests.payments.helpers import fund, link_member, make_connection, make_member, make_offer

    conn = make_connection(workspace)
    offer = make_offer(workspace, conn)
    ava, ben = make_member(workspace, name="Ava"), make_member(workspace, name="Ben")
    for m in (ava, ben):
        link_member(offer, m)
        convert(conn, m, sale="100.00")
    drain()
    fund(workspace, "100.00")
    batch, _ = services.create_payment_run(
        workspace=workspace,
        idempotency_key="split",
        rail="manual",
        currency="USD",
        member_ids=[ava.pk, ben.pk],
        paid_on=timezone.localdate(),
    )
    services.fail_payment(payment=batch.payments.get(member=ben), status=Payment.Status.RETURNED, message="closed")
    run_page = alice_client.get(reverse("payments:run", args=[batch.code])).content.decode()
    assert "Paid 10.00 USD" in run_page and "returned or failed 10.00 USD" in run_page
    history = alice_client.get(reverse("payments:history")).content.decode()
    assert "10.00 USD paid" in history and "10.00 USD returned or failed" in history
