"""Property-based: random sequences of money events never break a ledger invariant."""

from django.db.models import Sum
from hypothesis import given
from hypothesis import strategies as st

from payments.models import AccountKind, Entry, TxnKind
from tests.payments.helpers import drain
from tests.payments.money_steps import PROPERTY_SETTINGS, actions, apply, run_steps, to_cents
from tracking.models import Conversion, ConversionStatus


def assert_outbox_rules_hold(ws):
    """After draining: each member's posted earnings equal their approved conversions' payouts."""
    drain()
    approved = Conversion.objects.filter(workspace=ws, status=ConversionStatus.APPROVED, member__isnull=False)
    expected = {r["member_id"]: r["t"] for r in approved.values("member_id").annotate(t=Sum("member_payout"))}
    posted = {
        r["account__member_id"]: -r["t"]
        for r in Entry.objects.filter(
            workspace=ws, account__kind=AccountKind.PAYABLE, transaction__kind=TxnKind.CONVERSION
        )
        .values("account__member_id")
        .annotate(t=Sum("amount"))
    }
    for member_id in set(expected) | set(posted):
        assert to_cents(posted.get(member_id)) == to_cents(expected.get(member_id)), member_id
    receivable_posted = (
        Entry.objects.filter(
            workspace=ws, account__kind=AccountKind.RECEIVABLE, transaction__kind=TxnKind.CONVERSION
        ).aggregate(t=Sum("amount"))["t"]
        or 0
    )
    network_total = (
        Conversion.objects.filter(workspace=ws, status=ConversionStatus.APPROVED).aggregate(t=Sum("network_payout"))[
            "t"
        ]
        or 0
    )
    assert to_cents(receivable_posted) == to_cents(network_total)


@PROPERTY_SETTINGS
@given(steps=st.lists(actions, min_size=1, max_size=12))
def test_random_money_sequences_keep_every_invariant(world, steps):
    run_steps(world, steps, apply_step=apply, final_check=assert_outbox_rules_hold)
