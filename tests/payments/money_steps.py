"""What the ledger's property tests share (test_properties.py, test_hold_properties.py): the
random money steps, how each is applied, and a run of steps that checks the ledger after every
step and then rolls everything back."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from payments import services
from payments.models import Payment, Settlement
from payments.selectors import check_ledger
from tests.payments.helpers import convert, drain, far_future, set_status
from tracking.models import Conversion, ConversionStatus
from tracking.services import reattribute_conversion
from workspaces.errors import DomainError

# How both property tests run: the world fixture is set up once per test, not per example,
# which is fine because every example rolls back (run_steps).
PROPERTY_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)
index = st.integers(min_value=0, max_value=50)

actions = st.one_of(
    st.tuples(st.just("convert"), st.one_of(st.none(), index), cents, cents, st.sampled_from(["pending", "approved"])),
    st.tuples(st.just("status"), index, st.sampled_from(["approved", "reversed", "rejected"])),
    st.tuples(st.just("amount"), index, cents),
    st.tuples(st.just("reattribute"), index, index),
    st.tuples(st.just("drain")),
    st.tuples(st.just("settle")),
    st.tuples(st.just("receive"), index, st.integers(min_value=-500, max_value=500)),
    st.tuples(st.just("credit")),
    st.tuples(st.just("pay"), st.lists(index, min_size=1, max_size=3), st.sampled_from(["manual", "paypal"])),
    st.tuples(st.just("fail"), index, st.sampled_from(["failed", "returned"])),
    st.tuples(st.just("card"), cents),
)


class Rollback(Exception):
    pass


def pick(items, i):
    return items[i % len(items)] if items else None


def apply(action, world):
    ws, conn, members = world["workspace"], world["connection"], world["members"]
    kind = action[0]
    conversions = list(Conversion.objects.filter(workspace=ws).order_by("id"))
    if kind == "convert":
        _, m, sale, payout, status = action
        member = pick(members, m) if m is not None else None
        convert(conn, member, sale=str(sale), payout=str(payout), status=status)
    elif kind == "status" and conversions:
        try:
            set_status(pick(conversions, action[1]), action[2])
        except DomainError:
            pass
    elif kind == "amount" and conversions:
        conversion = pick(conversions, action[1])
        if conversion.status in (ConversionStatus.PENDING, ConversionStatus.APPROVED):
            convert(
                conn,
                conversion.member,
                sale=str(action[2] * 5),
                payout=str(action[2]),
                status=conversion.status,
                external_id=conversion.external_id,
            )
    elif kind == "reattribute" and conversions:
        try:
            reattribute_conversion(conversion=pick(conversions, action[1]), member=pick(members, action[2]))
        except DomainError:
            pass
    elif kind == "drain":
        drain()
    elif kind == "settle":
        services.create_expected_settlements_all_workspaces(today=timezone.localdate())
    elif kind == "receive":
        expected = list(Settlement.objects.filter(workspace=ws, status="expected").order_by("id"))
        settlement = pick(expected, action[1])
        if settlement is not None:
            amount = max(settlement.expected_amount + Decimal(action[2]) / 100, Decimal("0.00"))
            try:
                services.mark_settlement_received(
                    settlement=settlement, amount=amount, received_on=timezone.localdate()
                )
            except DomainError:
                pass
    elif kind == "credit":
        services.credit_due_settlements_all_workspaces(today=far_future())
    elif kind == "pay":
        create_run(action, world, paid_on=timezone.localdate())
    elif kind == "card":
        services.link_funding_card(workspace=ws, label="Ops Visa", last4="4242", monthly_limit=action[1])
    elif kind == "fail":
        payment = pick(list(Payment.objects.filter(workspace=ws).order_by("id")), action[1])
        if payment is not None:
            services.fail_payment(payment=payment, status=action[2], message="property test")


def create_run(action, world, **options) -> None:
    """A ``("pay", member indexes, rail)`` step: a payment run for those members (``options`` go to
    create_payment_run); a run the service refuses is a step that changed nothing."""
    try:
        services.create_payment_run(
            workspace=world["workspace"],
            idempotency_key=f"run-{world['step']}",
            rail=action[2],
            currency="USD",
            member_ids=[pick(world["members"], i).pk for i in action[1]],
            **options,
        )
    except DomainError:
        pass


def to_cents(value) -> Decimal:
    # SQLite sums decimals as floats (-1.7e-18 for a balanced account); the ledger is kept in cents.
    return Decimal(value or 0).quantize(Decimal("0.01"))


def run_steps(world, steps, *, apply_step, final_check) -> None:
    """Apply ``steps`` in order, checking the ledger after each, then ``final_check(workspace)``;
    everything is rolled back afterwards, so the next example starts from the same world."""
    try:
        with transaction.atomic():
            for step, action in enumerate(steps):
                world["step"] = step
                apply_step(action, world)
                report = check_ledger(workspace=world["workspace"])
                assert report.ok, (action, report.violations)
            final_check(world["workspace"])
            assert check_ledger(workspace=world["workspace"]).ok
            raise Rollback
    except Rollback:
        pass
