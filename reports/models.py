"""The report rollups: daily figures per dimension, and where their refresh stands.

The tables were created by tracking's migrations and moved here with their rows
(reports/migrations/0001_initial.py); reports/rollups.py is their only writer.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from offers.models import Member, NetworkConnection, Offer, Project
from workspaces.models import Workspace


class DailyRollup(models.Model):
    """Daily report figures, one row per workspace, day and dimensions.

    Reports read these instead of raw clicks. Click figures live on rows with
    ``status=""`` and ``currency=""``; conversion figures on rows keyed by the
    conversion's status and currency, so a status filter or a currency choice is
    a plain WHERE. Rows of a day are replaced as a whole by
    ``reports.rollups.recompute_rollups`` (delete, aggregate, insert), so no
    unique constraint is needed and NULL dimensions need no special casing.
    ``project`` is the member's project when the day was last recomputed.
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    day = models.DateField()
    offer = models.ForeignKey(Offer, models.CASCADE, null=True, blank=True, related_name="+")
    member = models.ForeignKey(Member, models.CASCADE, null=True, blank=True, related_name="+")
    project = models.ForeignKey(Project, models.SET_NULL, null=True, blank=True, related_name="+")
    connection = models.ForeignKey(NetworkConnection, models.SET_NULL, null=True, blank=True, related_name="+")
    # How coarse the row is: "link" rows carry offer and member; "member" rows sum a member's
    # offers, "offer" rows an offer's members, "total" rows everything (offer, member and
    # connection/project left empty as the grain says). Reports read the coarsest grain
    # that still has the dimensions they group or filter by.
    grain = models.CharField(max_length=6, default="link")
    status = models.CharField(max_length=10, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    bot_clicks = models.PositiveIntegerField(default=0)
    # Counted (non-bot) clicks on an offer that was paused, expired or not yet started.
    off_state_clicks = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(default=0)
    sales = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"))
    network_payout = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"))
    member_payout = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        indexes = [
            # The recompute's delete: a workspace's rows (all grains) in a date range.
            models.Index(fields=["workspace", "day"], name="rollup_ws_day"),
            # Reports: one grain of a workspace in a date range.
            models.Index(fields=["workspace", "grain", "day"], name="rollup_ws_grain_day"),
        ]


class RollupWatermark(models.Model):
    """Where the incremental rollup refresh stopped (a single row, pk=1).

    Ids of clicks, conversion events and conversion changes, and the newest
    conversion ``updated_at`` seen; the refresh rescans a small overlap below
    each mark because ids are not committed in order.
    """

    click_id = models.BigIntegerField(default=0)
    event_id = models.BigIntegerField(default=0)
    change_id = models.BigIntegerField(default=0)
    conversion_updated_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)


class RollupDirtyDay(models.Model):
    """A workspace's day whose rollup rows must be recomputed.

    The refresh marks days here (an upsert that bumps ``marked_at``) and then works
    through them one day per transaction within a time budget, so a large backlog
    is spread over several runs. A day is removed only if it was not marked again
    while being recomputed.
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    day = models.DateField()
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "day"], name="rollup_dirty_once")]


class SavedReport(models.Model):
    """A report with its filters, saved under a name: private to its owner or shared with the workspace,
    pinned to the navigation, and sent as CSV by email daily or weekly (reports/saved.py)."""

    class Schedule(models.TextChoices):
        NONE = "", "Not sent"
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly (Mondays)"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    report = models.CharField(max_length=40)  # the report's URL name in the reports namespace
    query = models.CharField(max_length=1000, blank=True)  # its filters and sort, as a query string
    shared = models.BooleanField(default=False)
    pinned = models.BooleanField(default=False)
    schedule = models.CharField(max_length=10, choices=Schedule.choices, blank=True, default="")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The saved list and the navigation: a workspace's saved reports by name.
            models.Index(fields=["workspace", "name"], name="savedreport_ws_name"),
        ]
