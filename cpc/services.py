"""Paid clicks: set rates, count a day's payable clicks, post them to the ledger.

A click earns an offer's click rate when it is unique, not a bot, on the offer while the
offer was active, and by a real (not test) member; the member's own rate on the offer
replaces the offer's. Each member is paid for at most ``daily_cap`` such clicks per offer
and day (days in the display time zone). Once a day (beat, after the day ended and the
click buffer was drained) ``post_paid_clicks_all_workspaces`` stores the day's figures and
posts one ledger transaction per member and currency through the payments app.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from cpc.models import ClickRate, PaidClickDay
from offers.models import Member, Offer
from payments import services as payments
from tracking.models import Click
from workspaces.dates import day_bounds
from workspaces.errors import DomainError
from workspaces.models import Workspace

CENT = Decimal("0.01")


def set_click_rate(*, offer: Offer, member: Member | None, rate: Decimal, daily_cap: int) -> ClickRate:
    """The offer's click rate (``member`` None) or one member's, created or changed."""
    if member is not None and member.workspace_id != offer.workspace_id:
        raise DomainError("Member not found.")
    if rate < 0 or daily_cap < 1:
        raise DomainError("The rate must be 0 or more and the daily cap at least 1.")
    found, _ = ClickRate.objects.update_or_create(
        workspace_id=offer.workspace_id,
        offer=offer,
        member=member,
        defaults={"rate": rate, "daily_cap": daily_cap},
    )
    return found


def remove_click_rate(*, click_rate: ClickRate) -> None:
    """Stop paying clicks at this rate from the next posted day on (posted days stay posted)."""
    click_rate.delete()


def payable_clicks(*, workspace: Workspace, day: date) -> list[PaidClickDay]:
    """The day's figures per member and offer with a click rate (unsaved rows): counted, paid, amount."""
    rates = list(ClickRate.objects.filter(workspace=workspace).select_related("offer"))
    if not rates:
        return []
    offer_rates = {r.offer_id: r for r in rates if r.member_id is None}
    member_rates = {(r.offer_id, r.member_id): r for r in rates if r.member_id is not None}
    start, end = day_bounds(day, day)
    counts = (
        Click.objects.filter(
            workspace=workspace,
            created_at__gte=start,
            created_at__lt=end,
            offer_id__in={r.offer_id for r in rates},
            is_unique=True,
            is_bot=False,
            offer_state="active",
        )
        .exclude(member__is_test=True)
        .values("member_id", "offer_id")
        .annotate(n=Count("id"))
        .order_by("member_id", "offer_id")
    )
    rows = []
    for found in counts:
        rate = member_rates.get((found["offer_id"], found["member_id"])) or offer_rates.get(found["offer_id"])
        if rate is None:
            continue  # a member rate on an offer without one for everyone: only that member is paid
        paid = min(found["n"], rate.daily_cap)
        rows.append(
            PaidClickDay(
                workspace=workspace,
                member_id=found["member_id"],
                offer_id=found["offer_id"],
                day=day,
                counted_clicks=found["n"],
                paid_clicks=paid,
                rate=rate.rate,
                daily_cap=rate.daily_cap,
                amount=(rate.rate * paid).quantize(CENT, rounding=ROUND_HALF_UP),
                currency=rate.offer.currency,
            )
        )
    return rows


@transaction.atomic
def post_paid_clicks(*, workspace: Workspace, day: date, today: date | None = None) -> int:
    """Store ``day``'s paid clicks and post each member's earnings; once per workspace and day.

    Returns how many ledger transactions were posted (0 when the day was posted before).
    A concurrent run of the same day fails on the unique day rows and rolls back.
    """
    if day >= (today or timezone.localdate()):
        raise DomainError("Only a finished day can be posted.")
    if PaidClickDay.objects.filter(workspace=workspace, day=day).exists():
        return 0
    rows = payable_clicks(workspace=workspace, day=day)
    PaidClickDay.objects.bulk_create(rows)
    owed: dict[tuple[int, str], list] = defaultdict(lambda: [Decimal("0.00"), 0])
    for row in rows:
        owed[(row.member_id, row.currency)][0] += row.amount
        owed[(row.member_id, row.currency)][1] += row.paid_clicks
    members = Member.objects.in_bulk({member_id for member_id, _ in owed})
    posted = 0
    for (member_id, currency), (amount, clicks) in sorted(owed.items()):
        if amount and payments.post_paid_clicks(
            member=members[member_id], day=day, currency=currency, amount=amount, clicks=clicks
        ):
            posted += 1
    return posted


def post_paid_clicks_all_workspaces(*, day: date | None = None, today: date | None = None) -> int:
    """Post yesterday (or ``day``) for every workspace with click rates, after draining the click buffer."""
    today = today or timezone.localdate()
    day = day or today - timedelta(days=1)
    if settings.REDIS_URL:
        from tracking.clicks.buffer import drain_click_buffer

        drain_click_buffer()  # a click of the day still in Redis must be counted before the day is closed
    posted = 0
    for workspace_id in ClickRate.objects.values_list("workspace_id", flat=True).distinct().order_by():
        try:
            posted += post_paid_clicks(workspace=Workspace.objects.get(pk=workspace_id), day=day, today=today)
        except IntegrityError:
            continue  # another worker posted this workspace's day meanwhile
    return posted
