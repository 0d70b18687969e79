"""Payments, settlements, syncs and connections announce themselves in the outbox, in their own transaction."""

from decimal import Decimal

from django.utils import timezone

from networks.models import SyncRun
from networks.services import mark_connection_broken
from networks.services.runs import finish
from payments import services as payments
from tests.payments.helpers import convert, drain, fund, make_connection, make_member
from workspaces.models import Event


def topics(workspace):
    return list(Event.objects.filter(workspace=workspace).order_by("id").values_list("topic", flat=True))


def test_a_received_settlement_and_a_manual_payment_and_its_failure_are_published(workspace):
    conn = make_connection(workspace)
    ann = make_member(workspace, "Ann")
    convert(conn, ann, sale="300.00")
    drain()
    fund(workspace, Decimal("50.00"))
    batch, _ = payments.create_payment_run(
        workspace=workspace,
        idempotency_key="k1",
        rail="manual",
        currency="USD",
        member_ids=[ann.pk],
        paid_on=timezone.localdate(),
    )
    payment = batch.payments.get()
    assert payments.fail_payment(payment=payment, status="returned", message="bank said no")
    assert topics(workspace) == ["settlement.received", "payment.sent", "payment.failed"]
    sent, failed = Event.objects.filter(topic__startswith="payment.").order_by("id")
    assert sent.data["amount"] == "30.00" and sent.data["member"]["affiliate_id"] == ann.affiliate_id
    assert failed.data["status"] == "returned" and failed.data["message"] == "bank said no"
    # Failing it again changes nothing and announces nothing.
    assert not payments.fail_payment(payment=payment, status="failed")
    assert topics(workspace).count("payment.failed") == 1


def test_a_failed_sync_and_a_broken_connection_are_published_once(workspace):
    conn = make_connection(workspace)
    run = SyncRun.objects.create(workspace=workspace, connection=conn, kind="actions", status="running")
    finish(run, SyncRun.Status.FAILED, error="Impact answered 500")
    mark_connection_broken(connection=conn, message="401 Unauthorized")
    mark_connection_broken(connection=conn, message="401 again")
    assert topics(workspace) == ["sync.failed", "connection.broken"]
    event = Event.objects.get(topic="sync.failed")
    assert event.data["error"] == "Impact answered 500" and event.data["kind"] == "actions"
