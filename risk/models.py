"""Fraud rules: each workspace's rule settings, the verdicts rules write, and the review cases of held conversions.

The money side of a hold (the member payout kept out of the payable balance) lives in
the payments app (``payments.Hold``); a case here is the review workflow around it.
"""

import uuid

from django.db import models
from django.utils import timezone

from tracking.models import Conversion
from workspaces.models import TimeStamped, Workspace


class Rule(models.TextChoices):
    CLICK_VELOCITY = "click_velocity", "Click velocity"
    BOT_SHARE = "bot_share", "Bot share"
    TOO_SOON = "too_soon", "Converted too soon"
    TOO_LATE = "too_late", "Converted too late"
    AFFILIATE_MISMATCH = "affiliate_mismatch", "Affiliate id mismatch"
    DUPLICATE_ORDER = "duplicate_order", "Same order reported twice"
    SELF_REFERRAL = "self_referral", "Self-referral"
    COMMISSION_DRIFT = "commission_drift", "Commission drift"
    MEMBER_ON_HOLD = "member_on_hold", "Member on hold"


class RiskSettings(TimeStamped):
    """Which rules run in a workspace, and their thresholds (Settings → Fraud rules)."""

    workspace = models.OneToOneField(Workspace, models.CASCADE, related_name="+")
    velocity_on = models.BooleanField(default=True)
    velocity_clicks = models.PositiveIntegerField(default=20)
    bot_share_on = models.BooleanField(default=True)
    bot_share_percent = models.PositiveSmallIntegerField(default=50)
    too_soon_on = models.BooleanField(default=True)
    too_soon_seconds = models.PositiveIntegerField(default=10)
    too_late_on = models.BooleanField(default=True)
    too_late_days = models.PositiveIntegerField(default=30)
    affiliate_mismatch_on = models.BooleanField(default=True)
    duplicate_order_on = models.BooleanField(default=True)
    self_referral_on = models.BooleanField(default=True)
    drift_on = models.BooleanField(default=True)
    drift_percent = models.PositiveSmallIntegerField(default=20)

    class Meta:
        verbose_name_plural = "risk settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(bot_share_percent__gte=1, bot_share_percent__lte=100),
                name="risk_bot_share_1_to_100",
            ),
            models.CheckConstraint(condition=models.Q(velocity_clicks__gte=1), name="risk_velocity_gte_1"),
            models.CheckConstraint(condition=models.Q(too_late_days__gte=1), name="risk_too_late_gte_1"),
        ]


class Verdict(models.Model):
    """A rule that fired on a conversion, with its reason in words and the evidence behind it."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    conversion = models.ForeignKey(Conversion, models.CASCADE, related_name="risk_verdicts")
    rule = models.CharField(max_length=20, choices=Rule.choices)
    reason = models.CharField(max_length=500)
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # A rule fires once per conversion; later changes that trip it again add nothing.
            models.UniqueConstraint(fields=["conversion", "rule"], name="verdict_once_per_rule"),
        ]

    def __str__(self):
        return f"{self.get_rule_display()}: {self.reason}"


class OrderRef(models.Model):
    """The merchant's order id of a conversion, where the network reported one (for the duplicate-order rule)."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    conversion = models.OneToOneField(Conversion, models.CASCADE, related_name="+")
    ref = models.CharField(max_length=255)

    class Meta:
        indexes = [
            # Duplicate-order rule: the other conversions of one order in a workspace.
            models.Index(fields=["workspace", "ref"], name="orderref_ws_ref"),
        ]


class Case(models.Model):
    """A held conversion waiting for (or past) a person's decision in /review/."""

    class Status(models.TextChoices):
        HELD = "held", "On hold"
        RELEASED = "released", "Released"
        REJECTED = "rejected", "Rejected as fraud"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversion = models.OneToOneField(Conversion, models.CASCADE, related_name="risk_case")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    opened_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            # The review queue: a workspace's cases by status, oldest first.
            models.Index(fields=["workspace", "status", "opened_at"], name="case_ws_status_opened"),
        ]

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.HELD
