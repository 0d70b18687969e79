"""Paid clicks (CPC): rates per offer and per member, and what each member's clicks earned per day."""

import uuid
from decimal import Decimal

from django.db import models
from django.utils import timezone

from offers.models import Member, Offer
from workspaces.models import TimeStamped, Workspace


class ClickRate(TimeStamped):
    """A pay-per-click rate on an offer: for every member (``member`` empty) or one member (an override).

    Each counted click (unique, not a bot, on the offer while it was active) earns the rate,
    up to ``daily_cap`` paid clicks per member and day.
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offer = models.ForeignKey(Offer, models.CASCADE, related_name="click_rates")
    member = models.ForeignKey(Member, models.CASCADE, null=True, blank=True, related_name="click_rates")
    rate = models.DecimalField(max_digits=10, decimal_places=4)  # in the offer's currency, per click
    daily_cap = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offer"], condition=models.Q(member__isnull=True), name="clickrate_offer_once"
            ),
            models.UniqueConstraint(
                fields=["offer", "member"], condition=models.Q(member__isnull=False), name="clickrate_member_once"
            ),
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="clickrate_rate_gte_0"),
            models.CheckConstraint(condition=models.Q(daily_cap__gte=1), name="clickrate_cap_gte_1"),
        ]


class PaidClickDay(models.Model):
    """One member's clicks on one offer on one day (in the display time zone): counted, paid, earned.

    Written once per day by the daily posting, with the ledger transaction of the
    member's day (all their offers in one currency together).
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    member = models.ForeignKey(Member, models.CASCADE, related_name="+")
    offer = models.ForeignKey(Offer, models.CASCADE, related_name="+")
    day = models.DateField()
    counted_clicks = models.PositiveIntegerField()
    paid_clicks = models.PositiveIntegerField()
    rate = models.DecimalField(max_digits=10, decimal_places=4)
    daily_cap = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "day", "member", "offer"], name="paidclickday_once"),
        ]
        # The unique constraint's index also serves the report: a workspace's days in a range.
