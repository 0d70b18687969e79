"""Card funding: a linked card tops a payment run up to its monthly limit."""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from payments import lib
from payments.ledger import get_account, post_transaction
from payments.models import ZERO, Account, AccountKind, Entry, FundingCard, PaymentBatch, TxnKind
from workspaces.errors import DomainError
from workspaces.models import Workspace


def card_headroom(*, card: FundingCard, today: date | None = None) -> Decimal:
    """The card's monthly limit less what it funded since the 1st of this month."""
    today = today or timezone.localdate()
    used = Entry.objects.filter(
        workspace_id=card.workspace_id,
        account__kind=AccountKind.CARD_FUNDING,
        currency=card.currency,
        transaction__kind=TxnKind.CARD_FUNDING,
        transaction__created_at__gte=lib.start_of_day(today.replace(day=1), timezone.get_current_timezone()),
    ).aggregate(t=Sum("amount"))["t"]
    return max(card.monthly_limit + (used or ZERO), ZERO)


@transaction.atomic
def link_funding_card(
    *, workspace: Workspace, label: str, last4: str, monthly_limit: Decimal, actor: str = ""
) -> FundingCard:
    if not (len(last4) == 4 and last4.isdigit()):
        raise DomainError("Enter the last four digits of the card.")
    if monthly_limit <= 0:
        raise DomainError("The monthly limit must be above zero.")
    card, _ = FundingCard.objects.update_or_create(
        workspace=workspace,
        defaults={
            "label": label,
            "last4": last4,
            "monthly_limit": lib.money(monthly_limit),
            "currency": workspace.currency,
            "linked_by": actor,
        },
    )
    return card


def unlink_funding_card(*, workspace: Workspace) -> bool:
    deleted, _ = FundingCard.objects.filter(workspace=workspace).delete()
    return bool(deleted)


def fund_by_card(*, batch: PaymentBatch, available: Account, shortfall: Decimal) -> None:
    """Top the balance up from the linked card, within its monthly limit, or refuse the run."""
    ws, currency = batch.workspace, batch.currency
    refusal = f"The total exceeds the available balance of {available.balance} {currency}"
    # Locked so two runs cannot both spend the same monthly headroom.
    card = FundingCard.objects.select_for_update().filter(workspace=ws, currency=currency).first()
    if card is None:
        raise DomainError(f"{refusal} by {shortfall} {currency}.")
    headroom = card_headroom(card=card)
    if shortfall > headroom:
        raise DomainError(
            f"{refusal} by {shortfall} {currency}, more than the {headroom} {currency} left this month on {card}."
        )
    post_transaction(
        workspace=ws,
        key=f"card-funding:{batch.pk}",
        kind=TxnKind.CARD_FUNDING,
        legs=[
            (available, shortfall),
            (get_account(workspace=ws, kind=AccountKind.CARD_FUNDING, currency=currency), -shortfall),
        ],
        memo=f"Charged to {card} for a payment run",
    )
    available.refresh_from_db(fields=["balance"])
