"""Property-based: holds, releases, two-person approvals, reversals and payments in any order keep the ledger
clean, and a held conversion's money is never payable (so never paid)."""

from decimal import Decimal

from django.db.models import Sum
from hypothesis import example, given
from hypothesis import strategies as st

from payments import services
from payments.models import Account, AccountKind, Hold, PaymentBatch
from tests.payments.helpers import drain
from tests.payments.money_steps import (
    PROPERTY_SETTINGS,
    actions,
    apply,
    cents,
    create_run,
    index,
    pick,
    run_steps,
    to_cents,
)
from tracking.models import Conversion, ConversionStatus
from workspaces.errors import DomainError

# The money steps that matter most here are drawn as often as the rest together; every other
# step of the ledger's own property test comes through ``actions``.
hold_actions = st.one_of(
    actions,
    st.tuples(st.just("convert"), index, cents, cents, st.sampled_from(["pending", "approved"])),
    st.tuples(st.just("status"), index, st.sampled_from(["approved", "reversed", "rejected"])),
    st.tuples(st.just("drain")),
    st.tuples(st.just("pay"), st.lists(index, min_size=1, max_size=3), st.sampled_from(["manual", "paypal"])),
    st.tuples(st.just("hold"), index),
    st.tuples(st.just("release"), index),
    st.tuples(st.just("threshold"), st.one_of(st.none(), st.integers(min_value=0, max_value=300))),
    st.tuples(st.just("approve"), index, st.sampled_from(["prep@brand.test", "second@brand.test"])),
    st.tuples(st.just("decline"), index),
)


def apply_with_holds(action, world):
    ws = world["workspace"]
    kind = action[0]
    conversions = list(Conversion.objects.filter(workspace=ws).order_by("id"))
    runs = list(PaymentBatch.objects.filter(workspace=ws, status="awaiting").order_by("id"))
    if kind == "hold" and conversions:
        services.hold_conversion(conversion=pick(conversions, action[1]), reason="property test")
    elif kind == "release" and conversions:
        services.release_hold(conversion=pick(conversions, action[1]), actor="second@brand.test")
    elif kind == "threshold":
        threshold = None if action[1] is None else Decimal(action[1])
        services.set_two_person_rule(workspace=ws, threshold=threshold, currency="USD")
    elif kind == "approve" and runs:
        try:
            services.approve_payment_run(batch=pick(runs, action[1]), actor=action[2])
        except DomainError:
            pass
    elif kind == "decline" and runs:
        services.decline_payment_run(batch=pick(runs, action[1]), actor="second@brand.test", reason="property test")
    elif kind == "pay":
        # Runs are prepared by one person, so that the approval step has someone to refuse.
        paid_on = None if action[2] == "paypal" else ws.created_at.date()
        create_run(action, world, paid_on=paid_on, actor="prep@brand.test")
    else:
        apply(action, world)


def assert_held_money_is_exactly_the_held_conversions(ws):
    """After draining: each member's on-hold balance is what their held, approved conversions earn."""
    drain()
    held = Conversion.objects.filter(
        workspace=ws,
        status=ConversionStatus.APPROVED,
        member__isnull=False,
        pk__in=Hold.objects.filter(workspace=ws, released_at__isnull=True).values("conversion_id"),
    )
    expected = {r["member_id"]: r["t"] for r in held.values("member_id").annotate(t=Sum("member_payout"))}
    on_hold = {
        a.member_id: -a.balance for a in Account.objects.filter(workspace=ws, kind=AccountKind.HELD) if a.balance
    }
    for member_id in set(expected) | set(on_hold):
        assert to_cents(on_hold.get(member_id)) == to_cents(expected.get(member_id)), member_id


@PROPERTY_SETTINGS
@given(steps=st.lists(hold_actions, min_size=1, max_size=14))
# Held before the ledger saw it; held while pending, then approved; held after payment, then reversed.
@example(steps=[("convert", 0, Decimal("100"), Decimal("9"), "approved"), ("hold", 0)])
@example(
    steps=[("convert", 1, Decimal("50"), Decimal("5"), "pending"), ("drain",), ("hold", 0), ("status", 0, "approved")]
)
@example(
    steps=[
        ("card", Decimal("500")),
        ("convert", 0, Decimal("100"), Decimal("9"), "approved"),
        ("drain",),
        ("threshold", 5),
        ("pay", [0], "manual"),
        ("hold", 0),
        ("approve", 0, "prep@brand.test"),
        ("approve", 0, "second@brand.test"),
        ("status", 0, "reversed"),
        ("release", 0),
    ]
)
def test_holds_and_approvals_in_any_order_keep_the_ledger_clean_and_never_pay_held_money(world, steps):
    run_steps(world, steps, apply_step=apply_with_holds, final_check=assert_held_money_is_exactly_the_held_conversions)
