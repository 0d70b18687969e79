"""Network API syncs: runs, per-connection sync state, Impact click exports and click counts.

NetworkConnection itself lives in offers (tracking resolves postback secrets from it);
everything the syncs need to remember is keyed by connection here.
"""

import uuid
from datetime import timedelta

from django.db import models
from django.utils import timezone

from offers.models import NetworkConnection
from workspaces.models import TimeStamped, Workspace

__all__ = [
    "NetworkConnection",
    "SyncKind",
    "SyncRun",
    "SyncState",
    "ProcessedActionUpdate",
    "ClickExportJob",
    "NetworkProgram",
]


class SyncKind(models.TextChoices):
    """What a run reads. Each network names its own: ``actions`` are the conversions by date
    (Impact's Actions, ShareASale's activity, Awin's transactions), ``updates`` the changes
    reported apart (Impact's ActionUpdates, ShareASale's voids and edits, Awin's validations)."""

    ACTIONS = "actions", "Actions"
    UPDATES = "updates", "Action updates"
    CLICKS = "clicks", "Click export"


# What each network calls its kinds, where the words differ from Impact's.
KIND_LABELS = {
    "shareasale": {"actions": "Activity", "updates": "Voids and edits"},
    "awin": {"actions": "Transactions", "updates": "Validations"},
}


def kind_label(network: str, kind: str) -> str:
    return KIND_LABELS.get(network, {}).get(kind) or SyncKind(kind).label


class SyncRun(TimeStamped):
    """One scheduled or manual sync of one kind for one connection."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        # Rate limited or waiting on a queued export: the run resumes by a re-scheduled task.
        WAITING = "waiting", "Waiting"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Sync now"
        COMMAND = "command", "Command"

    ACTIVE = (Status.RUNNING, Status.WAITING)
    # A waiting run this far past its retry time lost its task message (the beat re-enqueues it).
    LOST_AFTER = timedelta(minutes=10)

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    connection = models.ForeignKey(NetworkConnection, models.CASCADE, related_name="sync_runs")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=10, choices=SyncKind.choices)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    # Start of the first sub-window not yet fully stored; a resumed run starts here.
    resume_from = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent of the window (or of the export jobs)
    pages_done = models.PositiveIntegerField(default=0)
    pages_total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    # Records judged duplicates of another conversion (the click's conversion came another way).
    duplicate_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Networks page: a workspace's recent runs; last run per connection and kind.
            models.Index(fields=["workspace", "-started_at"], name="syncrun_ws_started"),
            models.Index(fields=["connection", "kind", "-started_at"], name="syncrun_conn_kind"),
        ]
        constraints = [
            # One connection never runs two syncs of the same kind at once.
            models.UniqueConstraint(
                fields=["connection", "kind"],
                condition=models.Q(status__in=["running", "waiting"]),
                name="syncrun_one_active_per_kind",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} sync of {self.connection_id} ({self.status})"

    @property
    def kind_label(self) -> str:
        """The kind in the network's own words (ShareASale's "Activity", Awin's "Transactions")."""
        return kind_label(self.connection.kind, self.kind)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def is_overdue(self) -> bool:
        """Waiting past its retry time (or queued long ago) with nobody running it: "Sync now"
        and the command resume it instead of answering "already running". A click export
        without a retry time waits on its jobs' polls, not on a task of its own."""
        if self.status != self.Status.WAITING:
            return False
        now = timezone.now()
        if self.retry_at is not None:
            return self.retry_at <= now
        return self.kind != SyncKind.CLICKS and self.updated_at < now - self.LOST_AFTER

    @property
    def duration(self):
        return (self.finished_at or timezone.now()) - self.started_at


class SyncState(TimeStamped):
    """What one connection's sync of one kind remembers between runs."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    connection = models.ForeignKey(NetworkConnection, models.CASCADE, related_name="sync_states")
    kind = models.CharField(max_length=10, choices=SyncKind.choices)
    # High-water mark: everything up to here is stored (the next run starts a little before it).
    cursor_at = models.DateTimeField(null=True, blank=True)
    # Actions only: LockingDate covered so far (pending actions that locked since are re-read).
    locking_cursor_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey(SyncRun, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "kind"], name="syncstate_once")]
        indexes = [
            # Beat dispatcher: states that are due.
            models.Index(fields=["kind", "next_run_at"], name="syncstate_due"),
        ]


class ProcessedActionUpdate(models.Model):
    """An Impact ActionUpdate already applied; inserted in the same transaction as its effect."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    connection = models.ForeignKey(NetworkConnection, models.CASCADE, related_name="+")
    update_id = models.CharField(max_length=100)
    action_id = models.CharField(max_length=100)
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "update_id"], name="processed_update_once"),
        ]


class NetworkProgram(models.Model):
    """A program (Impact CampaignId) seen on a connection's synced actions.

    The click export needs the account's programs; a token without the Campaigns scope
    cannot list them, so they are learned from the actions as they are stored.
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    connection = models.ForeignKey(NetworkConnection, models.CASCADE, related_name="programs")
    program_id = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "program_id"], name="networkprogram_once")]

    def __str__(self):
        return self.name or self.program_id


class ClickExportJob(TimeStamped):
    """One Impact ClickExport request: one program, one day. Never submitted twice."""

    class Status(models.TextChoices):
        REQUESTING = "requesting", "Requesting"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        # Impact retries ERROR jobs itself every 15 minutes, up to 5 times.
        ERROR = "error", "Error (Impact retries)"
        DOWNLOADING = "downloading", "Downloading"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    FINISHED = (Status.DONE, Status.FAILED)

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    connection = models.ForeignKey(NetworkConnection, models.CASCADE, related_name="click_exports")
    run = models.ForeignKey(SyncRun, models.SET_NULL, null=True, blank=True, related_name="click_exports")
    program_id = models.CharField(max_length=40)
    program_name = models.CharField(max_length=200, blank=True)
    date = models.DateField()
    job_id = models.CharField(max_length=64, blank=True)
    result_uri = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTING)
    status_message = models.CharField(max_length=500, blank=True)
    polls = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Re-submitting identical ClickExport parameters burns quota and refreshes nothing.
            models.UniqueConstraint(fields=["connection", "program_id", "date"], name="clickexport_once"),
        ]
        indexes = [
            # Daily quota: exports requested by a connection since midnight.
            models.Index(fields=["connection", "created_at"], name="clickexport_conn_created"),
        ]

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class NetworkClickCount(models.Model):
    """Daily clicks the network counted, per program and SubId1, from its click export."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    connection = models.ForeignKey(NetworkConnection, models.CASCADE, related_name="click_counts")
    program_id = models.CharField(max_length=40)
    date = models.DateField()
    sub_id1 = models.CharField(max_length=255, blank=True)
    clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "program_id", "date", "sub_id1"], name="networkclickcount_once"
            ),
        ]
        indexes = [
            # Connection page and reports: a workspace's network clicks by day.
            models.Index(fields=["workspace", "date"], name="netclicks_ws_date"),
        ]


class NetworkPayout(TimeStamped):
    """Money a network reports having paid us: ShareASale's "Affiliate Payment" rows, Awin's
    payment runs (its transactions' ``paymentId``). Finance matches it to the expected
    settlement and confirms the receipt (payments.services.match_network_payouts)."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+", db_index=False)
    connection = models.ForeignKey(NetworkConnection, models.CASCADE, related_name="payouts")
    # The day the network paid (ShareASale's payment row); for Awin, the day a sync first saw it paid.
    paid_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=120)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "reference"], name="network_payout_reference"),
        ]
        indexes = [
            # Settlement matching: a connection's payouts around a pay date.
            models.Index(fields=["connection", "paid_on"], name="network_payout_paid_on"),
        ]

    def __str__(self):
        return f"{self.amount} {self.currency} on {self.paid_on}"


class NetworkPayoutLine(models.Model):
    """One transaction a payment covered (Awin: a transaction with this ``paymentId``): the payment's
    amount is the sum of its lines, so a transaction a later window brings again counts once."""

    payout = models.ForeignKey(NetworkPayout, models.CASCADE, related_name="lines")
    external_id = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payout", "external_id"], name="network_payout_line_once"),
        ]
