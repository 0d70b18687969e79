"""The demo's money history: settlements in every state, a credited balance, payments; idempotent."""

from django.core.management import call_command

from payments.models import LedgerTransaction, Payment, PaymentBatch, Settlement
from payments.selectors import check_ledger
from workspaces.models import Workspace


def test_the_demo_has_a_money_history_and_seeds_once(db):
    call_command("seeddemo")
    ws = Workspace.objects.get(slug="demo-brand")
    statuses = set(Settlement.objects.filter(workspace=ws).values_list("status", flat=True))
    assert {"expected", "credited"} <= statuses
    # A ShareASale settlement received as ShareASale's own report says it paid, and credited.
    shareasale = Settlement.objects.filter(workspace=ws, connection__kind="shareasale", status="credited")
    paid = shareasale.exclude(network_payout=None).select_related("network_payout").first()
    assert paid is not None
    assert (paid.received_amount, paid.received_on) == (paid.network_payout.amount, paid.network_payout.paid_on)
    assert PaymentBatch.objects.filter(workspace=ws).count() == 1
    assert Payment.objects.filter(workspace=ws, status="paid").exists()
    assert Payment.objects.filter(workspace=ws, status="returned").exists()
    assert check_ledger(workspace=ws).ok
    counts = (LedgerTransaction.objects.count(), Settlement.objects.count(), Payment.objects.count())
    call_command("seeddemo")
    assert (LedgerTransaction.objects.count(), Settlement.objects.count(), Payment.objects.count()) == counts
