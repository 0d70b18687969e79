"""Settlements: what each network owes for a pay date, matching its payouts, receiving and crediting them."""

from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from networks.models import NetworkPayout
from offers.models import NetworkConnection
from payments import lib
from payments.ledger import get_account, post_transaction
from payments.models import ZERO, AccountKind, Settlement, SettlementLine, TwoPersonRule, TxnKind
from tracking.models import Conversion, ConversionSource, ConversionStatus
from workspaces.errors import DomainError
from workspaces.outbox import publish


@transaction.atomic
def refresh_expected_settlement(*, connection: NetworkConnection, today: date) -> list[Settlement]:
    """Create or top up the expected settlements of ``connection``'s next pay date.

    Covers approved conversions locked before the cut-off that are in no
    settlement yet; drops lines whose conversion stopped being approved and
    refreshes line amounts while the settlement is still expected.
    """
    pay_date = lib.next_pay_date(today, connection.settlement_day)
    cut_off = lib.start_of_day(lib.settlement_cut_off(connection.kind, pay_date), timezone.get_current_timezone())
    ws = connection.workspace
    for settlement in Settlement.objects.select_for_update().filter(
        connection=connection, status=Settlement.Status.EXPECTED
    ):
        _refresh_lines(settlement)
    candidates = (
        Conversion.objects.filter(
            workspace=ws,
            connection=connection,
            status=ConversionStatus.APPROVED,
            locking_at__lt=cut_off,
            settlement_line__isnull=True,
            network_payout__gt=0,
        )
        .exclude(source=ConversionSource.TEST)
        .order_by("id")
    )
    touched = {}
    for conversion in candidates:
        currency = conversion.currency.upper()
        settlement = touched.get(currency)
        if settlement is None:
            settlement, _ = Settlement.objects.get_or_create(
                workspace=ws,
                connection=connection,
                expected_on=pay_date,
                currency=currency,
                defaults={"cut_off": cut_off},
            )
            if settlement.status != Settlement.Status.EXPECTED:
                # Already received for that date: the conversion waits for the next one.
                continue
            touched[currency] = settlement
        try:
            with transaction.atomic():
                SettlementLine.objects.create(
                    workspace=ws, settlement=settlement, conversion=conversion, amount=conversion.network_payout
                )
        except IntegrityError:
            continue  # claimed by a concurrent run
    for settlement in touched.values():
        _refresh_lines(settlement)
    return list(touched.values())


def _refresh_lines(settlement: Settlement) -> None:
    for line in settlement.lines.select_related("conversion"):
        conversion = line.conversion
        if conversion.status != ConversionStatus.APPROVED:
            line.delete()
        elif line.amount != conversion.network_payout:
            line.amount = conversion.network_payout
            line.save(update_fields=["amount"])
    total = settlement.lines.aggregate(t=Sum("amount"))["t"] or ZERO
    if total != settlement.expected_amount:
        settlement.expected_amount = total
        settlement.save(update_fields=["expected_amount", "updated_at"])


# The window around a pay date in which a network's reported payment is taken to be that settlement's.
# Two weeks early: Awin runs payments on the 1st and the 15th (a settlement is expected on the 15th),
# and a payment is dated the day a sync first saw it.
PAYOUT_EARLY = timedelta(days=14)
PAYOUT_LATE = timedelta(days=21)


def match_network_payout(*, settlement: Settlement) -> NetworkPayout | None:
    """Tie the payment the network's own data reports (a ShareASale payment row, an Awin payment
    run) to this settlement: the same connection and currency, paid within two weeks before to three
    weeks after the pay date, not tied to another settlement; the closest date wins.

    Finance still confirms it by marking the settlement received (the form is filled from it).
    """
    if settlement.network_payout_id or settlement.status != Settlement.Status.EXPECTED:
        return settlement.network_payout
    candidates = NetworkPayout.objects.filter(
        workspace_id=settlement.workspace_id,
        connection_id=settlement.connection_id,
        currency=settlement.currency,
        paid_on__gte=settlement.expected_on - PAYOUT_EARLY,
        paid_on__lte=settlement.expected_on + PAYOUT_LATE,
        settlement__isnull=True,
    )
    best = min(
        candidates,
        key=lambda p: (abs((p.paid_on - settlement.expected_on).days), abs(p.amount - settlement.expected_amount)),
        default=None,
    )
    if best is None:
        return None
    with transaction.atomic():
        claimed = Settlement.objects.filter(pk=settlement.pk, network_payout__isnull=True).update(network_payout=best)
    if claimed:
        settlement.network_payout = best
    return settlement.network_payout


def match_network_payouts_all_workspaces() -> int:
    """Nightly, after the expected settlements are refreshed: match what networks reported paying."""
    matched = 0
    for settlement in Settlement.objects.filter(status=Settlement.Status.EXPECTED, network_payout__isnull=True):
        try:
            matched += match_network_payout(settlement=settlement) is not None
        except IntegrityError:
            continue  # the payout was tied to another settlement meanwhile
    return matched


def create_expected_settlements_all_workspaces(*, today: date | None = None) -> int:
    today = today or timezone.localdate()
    created = 0
    for connection in NetworkConnection.objects.select_related("workspace").exclude(
        status=NetworkConnection.Status.PAUSED
    ):
        created += len(refresh_expected_settlement(connection=connection, today=today))
    return created


@transaction.atomic
def mark_settlement_received(
    *, settlement: Settlement, amount: Decimal, received_on: date, reference: str = "", actor: str = ""
) -> Settlement:
    """Receivable -> funds in transit; a difference from the expected amount is booked explicitly."""
    settlement = Settlement.objects.select_for_update().select_related("workspace", "connection").get(pk=settlement.pk)
    if settlement.status != Settlement.Status.EXPECTED:
        raise DomainError("This settlement was already marked received.")
    amount = lib.money(amount)
    if amount < 0:
        raise DomainError("The amount received cannot be negative.")
    if received_on > timezone.localdate() + timedelta(days=1):
        raise DomainError("The date received cannot be in the future.")
    _refresh_lines(settlement)
    ws, currency = settlement.workspace, settlement.currency
    expected = settlement.expected_amount
    if amount == 0 and expected == 0:
        raise DomainError("Nothing was expected and nothing was received.")
    legs = [
        (get_account(workspace=ws, kind=AccountKind.IN_TRANSIT, currency=currency), amount),
        (
            get_account(workspace=ws, kind=AccountKind.RECEIVABLE, currency=currency, connection=settlement.connection),
            -expected,
        ),
        (get_account(workspace=ws, kind=AccountKind.DIFFERENCE, currency=currency), expected - amount),
    ]
    post_transaction(
        workspace=ws,
        key=f"settlement-received:{settlement.pk}",
        kind=TxnKind.SETTLEMENT_RECEIVED,
        legs=legs,
        memo=f"{settlement.connection.label} settlement of {settlement.expected_on} received"
        + (f" (ref {reference})" if reference else ""),
        settlement=settlement,
    )
    settlement.status = Settlement.Status.RECEIVED
    settlement.received_amount = amount
    settlement.received_on = received_on
    settlement.reference = reference
    settlement.received_by = actor
    rule = TwoPersonRule.objects.filter(workspace=ws).first()
    settlement.needs_confirmation = bool(rule and rule.needs_confirmation(currency=currency, amount=amount))
    settlement.credit_due_on = lib.add_business_days(received_on, ws.crediting_delay_days, country=ws.holiday_country)
    settlement.save(
        update_fields=[
            "status",
            "received_amount",
            "received_on",
            "reference",
            "received_by",
            "needs_confirmation",
            "credit_due_on",
            "updated_at",
        ]
    )
    publish(
        workspace=ws,
        topic="settlement.received",
        subject=f"settlement:{settlement.code}",
        data={
            "id": str(settlement.code),
            "connection": {"id": str(settlement.connection.code), "label": settlement.connection.label},
            "expected_on": settlement.expected_on.isoformat(),
            "expected_amount": f"{expected:.2f}",
            "received_amount": f"{amount:.2f}",
            "currency": currency,
            "received_on": received_on.isoformat(),
            "reference": reference,
        },
    )
    return settlement


@transaction.atomic
def credit_settlement(*, settlement: Settlement) -> bool:
    """Funds in transit -> available balance. Claimed by a conditional update: runs once."""
    confirmed = Q(needs_confirmation=False) | Q(confirmed_at__isnull=False)
    claimed = Settlement.objects.filter(confirmed, pk=settlement.pk, status=Settlement.Status.RECEIVED).update(
        status=Settlement.Status.CREDITED, credited_at=timezone.now(), updated_at=timezone.now()
    )
    if claimed != 1:
        return False
    settlement = Settlement.objects.select_related("workspace", "connection").get(pk=settlement.pk)
    ws, currency, amount = settlement.workspace, settlement.currency, settlement.received_amount
    post_transaction(
        workspace=ws,
        key=f"credit:{settlement.pk}",
        kind=TxnKind.CREDIT,
        legs=[
            (get_account(workspace=ws, kind=AccountKind.AVAILABLE, currency=currency), amount),
            (get_account(workspace=ws, kind=AccountKind.IN_TRANSIT, currency=currency), -amount),
        ],
        memo=f"{settlement.connection.label} settlement of {settlement.expected_on} credited",
        settlement=settlement,
    )
    return True


@transaction.atomic
def confirm_settlement_receipt(*, settlement: Settlement, actor: str) -> Settlement:
    """The second person confirms a receipt above the threshold; it is credited when its delay has passed."""
    if not actor:
        raise DomainError("Sign in to confirm a receipt.")
    if actor == settlement.received_by:
        raise DomainError("You marked this settlement received: another finance user or owner must confirm it.")
    claimed = Settlement.objects.filter(
        pk=settlement.pk, status=Settlement.Status.RECEIVED, needs_confirmation=True, confirmed_at__isnull=True
    ).update(confirmed_by=actor[:150], confirmed_at=timezone.now(), updated_at=timezone.now())
    if claimed != 1:
        raise DomainError("This receipt is not waiting for confirmation.")
    return Settlement.objects.get(pk=settlement.pk)


def credit_due_settlements_all_workspaces(*, today: date | None = None) -> int:
    """Credit every received settlement whose crediting delay has passed by ``today``."""
    today = today or timezone.localdate()
    due = Settlement.objects.filter(status=Settlement.Status.RECEIVED, credit_due_on__lte=today).order_by("id")
    return sum(1 for settlement in due if credit_settlement(settlement=settlement))
