"""Sync runs, the same for every network: start, claim, run, wait, fail, finish, schedule.

A run (SyncRun) is one sync of one kind for one connection; a network's adapter
(networks/services/impact.py, shareasale.py, awin.py) says which kinds it has, how often
they run and what a run of each kind does. Everything else lives here once:

- one active run per connection and kind (a database constraint); "Sync now", the
  beat and the command start runs the same way, and say the same when one is active;
- Celery may deliver a task twice, so a run is claimed with a conditional update;
- windows: from the kind's cursor less an overlap (late edits are not missed) to now,
  the first run reading 90 days; the run's resume point and the cursor move only when a
  window is stored, so a failure later loses nothing already stored;
- errors (networks/errors.py, the same family for every network): refused credentials
  break the connection (its schedule stops until new credentials are saved); a rate
  limit waits at least what the network asks; a server error backs off, at most 5 in a
  row per run; anything else fails the run with the network's words.
"""

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from networks import errors
from networks.crypto import CredentialsUnreadable
from networks.models import SyncKind, SyncRun, SyncState, kind_label
from networks.services.connections import mark_connection_broken
from offers.models import NetworkConnection
from workspaces.errors import DomainError
from workspaces.outbox import publish

log = logging.getLogger(__name__)

OVERLAP = timedelta(hours=24)  # each incremental run re-reads the last day: late edits are not missed
INITIAL_LOOKBACK = timedelta(days=90)
STALE_AFTER = timedelta(minutes=15)  # a running run without progress this long lost its worker
LOST_AFTER = SyncRun.LOST_AFTER
MAX_SERVER_TRIES = 5  # 5xx answers or timeouts in a row a run accepts before it fails
RETRY_BASE = 60.0
RETRY_CAP = 1800.0
DAILY_HOUR = 4  # daily kinds (the click export) run after 04:00 in the account's time zone


@dataclass
class Outcome:
    """What a task should do next: nothing, or run again in ``retry_in`` seconds (and why)."""

    retry_in: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Adapter:
    """What one network's syncs are: the few things that differ between networks."""

    network: str  # a NetworkKind value
    name: str  # how messages name the network ("Impact")
    kinds: tuple[str, ...]  # its sync kinds, in the order pages show them
    # How often each kind runs; a kind not listed runs daily after DAILY_HOUR in the account's zone.
    intervals: dict[str, timedelta]
    # The connection's API client, a context manager with a ``requests`` count.
    open_client: Callable[[NetworkConnection], AbstractContextManager]
    # Run one sync: returns True when the run now waits on something else (export jobs).
    sync: Callable[[SyncRun, NetworkConnection, object], bool]
    max_age: timedelta  # records older than this the network no longer lists
    credentials_hint: str  # what to enter before the first sync
    history_note: str  # how far back the network lists records, in words ("Impact keeps actions for 3 years")
    windowed: frozenset[str] = field(default_factory=frozenset)  # kinds that read windows (take a "since")


def adapters() -> dict[str, Adapter]:
    from networks.services import awin, impact, shareasale

    return {a.ADAPTER.network: a.ADAPTER for a in (impact, shareasale, awin)}


def adapter_for(connection: NetworkConnection) -> Adapter | None:
    return adapters().get(connection.kind)


def is_syncable(connection: NetworkConnection) -> bool:
    return (
        adapter_for(connection) is not None
        and connection.status == NetworkConnection.Status.ACTIVE
        and bool(connection.credentials_encrypted)
    )


def start_sync_run(
    *, connection: NetworkConnection, kind: str, trigger: str, since: datetime | None = None
) -> SyncRun | None:
    """A new waiting run, or None when one of this kind is already active for the connection."""
    _expire_stale_runs(connection=connection, kind=kind)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                workspace_id=connection.workspace_id,
                connection=connection,
                kind=kind,
                trigger=trigger,
                status=SyncRun.Status.WAITING,
                window_start=since,
                note="queued",
            )
    except IntegrityError:
        return None


def _expire_stale_runs(*, connection, kind) -> None:
    now = timezone.now()
    SyncRun.objects.filter(connection=connection, kind=kind).filter(
        Q(status=SyncRun.Status.RUNNING, updated_at__lt=now - STALE_AFTER)
        # Waiting on a retry or on export polls that never came back (a lost broker message).
        | Q(status=SyncRun.Status.WAITING, updated_at__lt=now - timedelta(days=1))
    ).update(
        status=SyncRun.Status.FAILED,
        error="The worker running this sync stopped without finishing; the next run resumes from the cursor.",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def request_sync(*, connection: NetworkConnection, kind: str, trigger: str, since: datetime | None = None) -> SyncRun:
    """ "Sync now": a new run, enqueued once the transaction commits.

    When a run of this kind is still active, it is re-enqueued if its wait is over (nobody
    resumed it: a lost task message, or a command that handed it on); otherwise DomainError
    says what it is waiting for and until when.
    """
    adapter = adapter_for(connection)
    if adapter is None:
        raise DomainError(f"{connection.get_kind_display()} connections take postbacks only; they have no API sync.")
    if kind not in adapter.kinds:
        raise DomainError(f"Unknown sync kind {kind!r} for {connection.get_kind_display()}.")
    if connection.status == NetworkConnection.Status.BROKEN:
        raise DomainError(f"The connection is broken: {connection.status_message} Save new credentials first.")
    if not connection.credentials_encrypted:
        raise DomainError(adapter.credentials_hint)
    run = start_sync_run(connection=connection, kind=kind, trigger=trigger, since=since)
    if run is None:
        run = overdue_run(connection=connection, kind=kind)
        if run is None:
            raise DomainError(describe_active_run(connection, kind))
    enqueue_on_commit(run)
    return run


def overdue_run(*, connection: NetworkConnection, kind: str) -> SyncRun | None:
    """The active run of this kind when its wait is over and nobody took it up (SyncRun.is_overdue)."""
    run = SyncRun.objects.filter(connection=connection, kind=kind, status=SyncRun.Status.WAITING).first()
    return run if run is not None and run.is_overdue else None


def describe_active_run(connection: NetworkConnection, kind: str) -> str:
    """Why a new run of this kind cannot start now, in the words "Sync now" and the command both use."""
    label = kind_label(connection.kind, kind).lower()
    run = SyncRun.objects.filter(connection=connection, kind=kind, status__in=SyncRun.ACTIVE).first()
    if run is not None and run.status == SyncRun.Status.WAITING and run.retry_at:
        return (
            f"The {label} sync of {connection.label} is waiting ({run.note.rstrip('.')}); "
            f"it resumes by itself at {run.retry_at.astimezone(UTC):%H:%M} UTC."
        )
    return f"The {label} sync of {connection.label} is already running."


def hand_run_to_worker(run: SyncRun, countdown: int) -> bool:
    """Let a worker resume a waiting run after ``countdown`` seconds; False when the task
    queue cannot be reached (the beat's resume_lost_work_all_workspaces takes it then)."""
    from networks.tasks import run_sync as run_sync_task

    try:
        run_sync_task.apply_async(args=[run.id], countdown=countdown)
    except Exception:  # noqa: BLE001 - no broker: the run stays waiting and is found as lost work
        log.warning("could not enqueue sync run %s; the beat resumes it", run.id, exc_info=True)
        return False
    return True


def enqueue_on_commit(run: SyncRun) -> None:
    from networks.tasks import run_sync as run_sync_task

    transaction.on_commit(lambda: run_sync_task.delay(run.id))


def claim(run: SyncRun) -> bool:
    """Take the run for this worker (Celery may deliver a task twice)."""
    now = timezone.now()
    claimed = (
        SyncRun.objects.filter(id=run.id)
        .filter(
            # A waiting run is never taken before its retry time (e.g. a network's Retry-After).
            Q(status=SyncRun.Status.WAITING) & (Q(retry_at__isnull=True) | Q(retry_at__lte=now))
            | Q(status=SyncRun.Status.RUNNING, updated_at__lt=now - STALE_AFTER)
        )
        .update(status=SyncRun.Status.RUNNING, retry_at=None, note="", updated_at=now)
    )
    if claimed:
        run.refresh_from_db()
    return bool(claimed)


def execute_sync_run(*, run: SyncRun) -> Outcome:
    """Run (or resume) one sync; every error ends in the run's row, never lost in a log."""
    if not claim(run):
        return Outcome()
    connection = NetworkConnection.objects.select_related("workspace").get(id=run.connection_id)
    if not is_syncable(connection):
        return finish(run, SyncRun.Status.FAILED, error=f"The connection is {connection.status}; sync skipped.")
    adapter = adapter_for(connection)
    counted = False  # whether the client counts server failures in a row itself (Impact's does)
    try:
        with adapter.open_client(connection) as client:
            counted = hasattr(client, "server_failures")
            if counted:
                client.server_failures = run.attempts  # in a row, over this run's earlier tasks
            try:
                if adapter.sync(run, connection, client):
                    return Outcome()
            finally:
                run.requests += client.requests
                fields = ["requests", "updated_at"]
                if counted:
                    run.attempts = client.server_failures
                    fields.append("attempts")
                run.save(update_fields=fields)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run
        return _handle_error(run, connection, exc, counted=counted)
    finish(run, SyncRun.Status.SUCCEEDED)
    return Outcome()


def _handle_error(run: SyncRun, connection: NetworkConnection, exc: Exception, *, counted: bool) -> Outcome:
    if isinstance(exc, SoftTimeLimitExceeded):
        # Every finished window is stored; a fresh task resumes from there.
        return wait(run, 1, "Continuing in a new task (time limit of one task reached).")
    if isinstance(exc, errors.AuthError):
        mark_connection_broken(connection=connection, message=exc.message)
        finish(run, SyncRun.Status.FAILED, error=exc.message + " Syncing is stopped until new credentials are saved.")
        return Outcome()
    if isinstance(exc, CredentialsUnreadable):
        mark_connection_broken(connection=connection, message=str(exc))
        finish(run, SyncRun.Status.FAILED, error=str(exc))
        return Outcome()
    if isinstance(exc, errors.RateLimited):
        return wait(run, exc.retry_after, exc.message, reason="rate limit")
    if isinstance(exc, errors.ServerError):
        if not counted:
            run.attempts += 1  # a client that counts failures in a row has set run.attempts already
        if run.attempts >= MAX_SERVER_TRIES:
            finish(
                run,
                SyncRun.Status.FAILED,
                error=f"{exc.message} Gave up after {run.attempts} tries; the next run resumes from the last "
                "stored window.",
            )
            return Outcome()
        delay = min(RETRY_CAP, RETRY_BASE * 2 ** max(run.attempts - 1, 0))
        note = f"{exc.message} Try {run.attempts + 1} of {MAX_SERVER_TRIES} next."
        return wait(
            run, int(delay) + 1, note, reason=f"{adapter_for(connection).name} server error", save_attempts=True
        )
    if isinstance(exc, errors.NetworkError | errors.WindowError):
        finish(run, SyncRun.Status.FAILED, error=getattr(exc, "message", str(exc)))
        return Outcome()
    if isinstance(exc, DomainError):
        finish(run, SyncRun.Status.FAILED, error=exc.message)
        return Outcome()
    log.exception("sync run %s failed", run.id)
    finish(run, SyncRun.Status.FAILED, error=f"Unexpected error: {exc.__class__.__name__}: {exc}"[:2000])
    return Outcome()


def wait(run: SyncRun, seconds: int, note: str, *, reason: str = "", save_attempts: bool = False) -> Outcome:
    run.status = SyncRun.Status.WAITING
    run.retry_at = timezone.now() + timedelta(seconds=seconds)
    run.note = note[:500]
    fields = ["status", "retry_at", "note", "updated_at"] + (["attempts"] if save_attempts else [])
    run.save(update_fields=fields)
    return Outcome(retry_in=seconds, reason=reason)


def finish(run: SyncRun, status: str, *, error: str = "") -> Outcome:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.retry_at = None
    if status == SyncRun.Status.SUCCEEDED:
        run.progress = 100
    run.save(update_fields=["status", "error", "finished_at", "retry_at", "progress", "updated_at"])
    SyncState.objects.filter(connection_id=run.connection_id, kind=run.kind).update(last_run=run)
    if status == SyncRun.Status.FAILED:
        publish(
            workspace=run.workspace,
            topic="sync.failed",
            subject=f"sync:{run.code}",
            data={"id": str(run.code), "connection": str(run.connection.code), "kind": run.kind, "error": error},
        )
    return Outcome()


# Windows and cursors ---------------------------------------------------------------------------


def sync_state(connection, kind) -> SyncState:
    state, _ = SyncState.objects.get_or_create(
        connection=connection, kind=kind, defaults={"workspace_id": connection.workspace_id}
    )
    return state


def plan_window(run: SyncRun, state: SyncState, *, max_age: timedelta, overlap: timedelta = OVERLAP) -> None:
    """Fix the run's window once: from its "since", else the cursor less ``overlap``, else 90
    days back (never older than the network keeps), to now."""
    if run.window_end is not None:
        return
    now = timezone.now()
    oldest = now - max_age + timedelta(hours=1)
    if run.window_start is None:
        run.window_start = state.cursor_at - overlap if state.cursor_at else now - INITIAL_LOOKBACK
    run.window_start = max(run.window_start, oldest)
    run.window_end = now
    run.resume_from = run.window_start
    run.save(update_fields=["window_start", "window_end", "resume_from", "updated_at"])


def advance(run: SyncRun, state: SyncState, upto: datetime) -> None:
    """A sub-window is fully stored: move the run's resume point and the connection's cursor."""
    run.resume_from = upto
    span = (run.window_end - run.window_start).total_seconds() or 1
    run.progress = min(99, int(100 * (upto - run.window_start).total_seconds() / span))
    run.save(update_fields=["resume_from", "progress", "updated_at"])
    if state.cursor_at is None or upto > state.cursor_at:
        state.cursor_at = upto
        state.save(update_fields=["cursor_at", "updated_at"])


def split_windows(start: datetime, end: datetime, size: timedelta):
    """(a, b) windows of at most ``size`` covering start..end, oldest first."""
    current = start
    while current < end:
        upto = min(current + size, end)
        yield current, upto
        current = upto


# Schedule --------------------------------------------------------------------------------------


def next_run_time(adapter: Adapter, kind: str, now: datetime, tz: ZoneInfo | None = None) -> datetime:
    """When a sync of this kind is next due: its interval from now, or DAILY_HOUR in the account's zone."""
    if kind in adapter.intervals:
        return now + adapter.intervals[kind]
    tz = tz or ZoneInfo("UTC")
    local = now.astimezone(tz)
    today = datetime.combine(local.date(), time(DAILY_HOUR), tzinfo=tz)
    if today > now:
        return today
    return datetime.combine(local.date() + timedelta(days=1), time(DAILY_HOUR), tzinfo=tz)


def dispatch_due_syncs_all_workspaces(*, now: datetime | None = None) -> list[int]:
    """Beat: start every due sync of every active connection with API credentials; returns the new run ids."""
    now = now or timezone.now()
    started = []
    by_network = adapters()
    connections = NetworkConnection.objects.filter(
        kind__in=list(by_network), status=NetworkConnection.Status.ACTIVE, sync_enabled=True
    ).exclude(credentials_encrypted="")
    for connection in connections:
        adapter = by_network[connection.kind]
        tz = connection.account_timezone
        for kind in adapter.kinds:
            with transaction.atomic():
                state = sync_state(connection, kind)
                if state.next_run_at and state.next_run_at > now:
                    continue
                daily = kind not in adapter.intervals
                if daily and state.next_run_at is None and now.astimezone(tz).hour < DAILY_HOUR:
                    state.next_run_at = next_run_time(adapter, kind, now, tz)
                    state.save(update_fields=["next_run_at", "updated_at"])
                    continue
                run = start_sync_run(connection=connection, kind=kind, trigger=SyncRun.Trigger.SCHEDULE)
                state.next_run_at = next_run_time(adapter, kind, now, tz)
                state.save(update_fields=["next_run_at", "updated_at"])
                if run is not None:
                    enqueue_on_commit(run)
                    started.append(run.id)
    return started


def resume_lost_work_all_workspaces(*, now: datetime | None = None) -> tuple[int, int]:
    """Beat: re-enqueue runs and export polls whose task message was lost (a broker restart).

    Claiming is idempotent, so a run or poll enqueued twice still runs once.
    Returns (runs, polls) re-enqueued.
    """
    from networks.services.impact import lost_export_polls
    from networks.tasks import run_sync as run_sync_task

    now = now or timezone.now()
    # A run waiting without a retry time waits on export polls (the click export), which resume it.
    lost_runs = SyncRun.objects.filter(status=SyncRun.Status.WAITING, updated_at__lt=now - LOST_AFTER).filter(
        Q(retry_at__lt=now - LOST_AFTER) | (Q(retry_at__isnull=True) & ~Q(kind=SyncKind.CLICKS))
    )
    run_ids = list(lost_runs.values_list("id", flat=True)[:100])
    for run_id in run_ids:
        run_sync_task.delay(run_id)
    return len(run_ids), lost_export_polls(now=now)


def parse_since(value: str, adapter: Adapter) -> datetime:
    """The command's --since (YYYY-MM-DD) as the start of that day, checked by check_since."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise DomainError("Give --since as YYYY-MM-DD.") from None
    return check_since(day, adapter)


def check_since(day: date, adapter: Adapter, *, today: date | None = None) -> datetime:
    """A sync window's first day (UTC midnight): in the past, and within what the network keeps;
    DomainError says which rule it breaks."""
    today = today or timezone.now().astimezone(UTC).date()
    if day > today:
        raise DomainError("Pick a day that is not in the future.")
    oldest = today - adapter.max_age + timedelta(days=1)
    if day < oldest:
        raise DomainError(f"{adapter.history_note}: pick {oldest.isoformat()} or later.")
    return datetime.combine(day, time.min, tzinfo=UTC)
