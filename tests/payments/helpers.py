"""Small builders for payments tests: real conversions through tracking's services."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from offers.models import Link, Member, NetworkConnection, Offer, PayoutType
from payments import services
from payments.models import AccountKind, Settlement
from tracking.models import ConversionSource
from tracking.reported import ConversionData
from tracking.services import change_conversion_status, record_conversion

_seq = itertools.count(1)


def make_connection(workspace, kind="impact", currency="USD", settlement_day=1, label=None):
    return NetworkConnection.objects.create(
        workspace=workspace,
        kind=kind,
        label=label or f"{kind} {next(_seq)}",
        currency=currency,
        settlement_day=settlement_day,
    )


def make_member(workspace, name=None, paypal=True, **kw):
    n = next(_seq)
    return Member.objects.create(
        workspace=workspace,
        name=name or f"Member {n}",
        email=f"member{n}@creators.test",
        paypal_email=f"member{n}@creators.test" if paypal else "",
        **kw,
    )


def make_offer(workspace, connection, percent="10"):
    """An offer paying members ``percent`` % of the sale amount."""
    return Offer.objects.create(
        workspace=workspace,
        name=f"Offer {next(_seq)}",
        offer_url="https://shop.test/?t={transaction_id}",
        connection=connection,
        payout_type=PayoutType.PERCENT,
        payout_percent=Decimal(percent),
    )


def link_member(offer, member):
    return Link.objects.create(workspace=offer.workspace, offer=offer, member=member)


def convert(
    connection,
    member=None,
    *,
    sale="100.00",
    payout="10.00",
    status="approved",
    locked_days_ago=40,
    currency="",
    external_id=None,
):
    """Record a conversion as a network would report it (member attributed by affiliate_id).

    The member earns 10 % of ``sale`` (the offer's payout option).
    """
    if member is not None and not Link.objects.filter(member=member, offer__connection=connection).exists():
        offer = Offer.objects.filter(connection=connection).first() or make_offer(connection.workspace, connection)
        link_member(offer, member)
    locking_at = timezone.now() - timedelta(days=locked_days_ago)
    data = ConversionData(
        external_id=external_id or f"A{next(_seq)}",
        affiliate_id=member.affiliate_id if member else "",
        sale_amount=Decimal(sale),
        network_payout=Decimal(payout),
        status=status,
        currency=currency,
        locking_at=locking_at,
    )
    result = record_conversion(connection=connection, data=data, source=ConversionSource.API_SYNC)
    assert result.conversion is not None, result
    return result.conversion


def set_status(conversion, status):
    return change_conversion_status(conversion=conversion, status=status, reason="test")


def drain():
    return services.process_conversion_events_all_workspaces()


def payable(workspace, member, currency="USD"):
    from payments.models import Account

    account = Account.objects.filter(workspace=workspace, kind=AccountKind.PAYABLE, member=member, currency=currency)
    account = account.first()
    return -account.balance if account else Decimal("0.00")


def balance(workspace, kind, currency="USD"):
    from payments.selectors import account_balance

    return account_balance(workspace=workspace, kind=kind, currency=currency)


def fund(workspace, amount, *, connection=None, today=None):
    """Put ``amount`` in the available balance the real way: a settlement received and credited."""
    connection = connection or make_connection(workspace)
    convert(connection, None, payout=str(amount), sale=str(amount))
    drain()
    today = today or timezone.localdate()
    services.refresh_expected_settlement(connection=connection, today=today)
    settlement = Settlement.objects.filter(connection=connection, status=Settlement.Status.EXPECTED).latest("id")
    settlement = services.mark_settlement_received(
        settlement=settlement, amount=settlement.expected_amount, received_on=today - timedelta(days=10)
    )
    assert services.credit_settlement(settlement=settlement)
    return settlement


def far_future() -> date:
    return timezone.localdate() + timedelta(days=30)


def outsider_objects(*, workspace, connection, member) -> dict:
    """One settlement, payment run and (failed) payment, for tests/outsider.py."""
    from payments.models import Payment, PaymentBatch

    settlement = Settlement.objects.create(
        workspace=workspace,
        connection=connection,
        currency="USD",
        cut_off=timezone.now(),
        expected_on=timezone.localdate(),
    )
    batch = PaymentBatch.objects.create(
        workspace=workspace, idempotency_key="outsider", rail="manual", currency="USD", total=Decimal("1.00")
    )
    payment = Payment.objects.create(
        workspace=workspace,
        batch=batch,
        member=member,
        amount=Decimal("1.00"),
        currency="USD",
        rail="manual",
        status="failed",
        idempotency_key="outsider:1",
    )
    return {"settlement": settlement, "payment_batch": batch, "payment": payment}
