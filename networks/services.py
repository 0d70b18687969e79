"""Network connections and the Impact syncs.

Connections: create/edit with a real credential check, encrypted Auth Token, postback
secret rotation, key rotation for every stored credential. Entering credentials for the
first time, or for another Account SID, starts the connection's sync history afresh.

Syncs (each a SyncRun; Celery tasks in networks/tasks.py only call these):
- Actions: windows of at most 45 days from the stored cursor (minus an overlap) to now,
  paged 2,000 at a time; a window Impact would page past 10 pages is halved first. Each
  page is one transaction (a failure later loses nothing already stored); each Action
  goes through tracking's record_conversion (external id = ActionId), so a postback and
  a sync of one sale are one conversion. A second pass over LockingDate picks up
  pending actions that locked (Impact does not count that transition as an update).
  The programs (CampaignId) the actions belong to are remembered for the click export.
- ActionUpdates: the change feed. Each update Id is remembered in the same transaction as
  its effect, so a repeated run changes nothing twice. A reversal is applied directly; any
  other change needs the Action's absolute amounts, read as windows of Actions by
  last-update date around the updates' dates (a page of 2,000 at a time), and one by one
  only for the few those windows miss.
- Click export: one ClickExport per program (Impact Campaigns with an active contract, or
  the programs learned from the actions when the token may not read Campaigns) for the
  last day that has ended in the account's time zone, at most 10 a day per connection and
  never the same one twice; the job is polled by re-scheduled tasks, the result downloaded
  and daily click counts per program and SubId1 stored.

Errors: 401 marks the connection broken (its schedule stops until new credentials are
saved); 403 names the endpoint; 429 waits at least Retry-After (and blocks the whole limit
group for every worker); 5xx/timeouts back off (capped, with jitter), at most 5 in a row per
run; a malformed body fails the run with a clear message.
"""

import ipaddress
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from networks import bulk, connections, impact
from networks.crypto import CredentialsUnreadable, decrypt_credentials, encrypt_credentials, rotate_token
from networks.impact import ImpactClient
from networks.models import (
    ClickExportJob,
    NetworkClickCount,
    NetworkConnection,
    NetworkProgram,
    ProcessedActionUpdate,
    SyncKind,
    SyncRun,
    SyncState,
)
from offers.models import NetworkKind
from tracking.models import Conversion, ConversionSource
from tracking.postbacks import ConversionData
from tracking.services import record_conversion
from workspaces.errors import DomainError

log = logging.getLogger(__name__)

OVERLAP = timedelta(hours=24)  # each incremental run re-reads the last day: late edits are not missed
INITIAL_LOOKBACK = timedelta(days=90)
MIN_WINDOW = timedelta(minutes=10)
MAX_SPLITS = 8  # 45 days halved 8 times is about 4 hours
STALE_AFTER = timedelta(minutes=15)  # a running run without progress this long lost its worker
LOST_AFTER = SyncRun.LOST_AFTER
MAX_SERVER_TRIES = 5  # 5xx answers or timeouts in a row a run accepts before it fails
UPDATE_CHUNK = 50  # change-feed updates applied per transaction
# Actions re-read for the change feed: the window of last-update dates around the updates' UpdateDates.
UPDATE_WINDOW_MARGIN = timedelta(hours=1)
FEW_SINGLE_READS = 10  # actions missed by that window: read one by one rather than a second window
RETRY_BASE = 60.0
RETRY_CAP = 1800.0
INTERVALS = {SyncKind.ACTIONS: timedelta(hours=1), SyncKind.UPDATES: timedelta(hours=1)}
CLICKS_HOUR = 4  # the previous day's clicks are requested after 04:00 in the account's time zone
POLL_FIRST = 30
POLL_CAP = 900
ERROR_POLL = 900  # Impact retries an ERROR job every 15 minutes
MAX_POLLS = 120
STATUSES = {"PENDING": "pending", "APPROVED": "approved", "REVERSED": "reversed"}


@dataclass
class Outcome:
    """What a task should do next: nothing, or run again in ``retry_in`` seconds (and why)."""

    retry_in: int | None = None
    reason: str = ""


# Connections -----------------------------------------------------------------------------------


def parse_allowlist(text: str) -> list[str]:
    """CIDR ranges, one per line (commas too); raises DomainError naming the bad line."""
    ranges = []
    for raw in text.replace(",", "\n").splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            ranges.append(str(ipaddress.ip_network(line, strict=False)))
        except ValueError:
            raise DomainError(f"'{line[:60]}' is not an IP address or CIDR range (e.g. 203.0.113.0/24).") from None
    return ranges


@dataclass
class CredentialCheck:
    """What Impact said about a token: its account information (when readable) and the
    endpoints it may not use (403)."""

    company: dict | None
    refused: list[str]

    @property
    def timezone(self) -> str:
        """CompanyInformation's Timezone when it is an IANA name we know, else ""."""
        name = str((self.company or {}).get("Timezone") or "").strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return ""
        return name

    def warning(self, setting: str) -> str:
        if not self.refused:
            return ""
        text = f"Impact accepted the credentials, but this token may not read {' or '.join(self.refused)} (403)."
        if "CompanyInformation" in self.refused:
            text += (
                f" The account's time zone is therefore taken from this connection's setting ({setting}): "
                "the click export asks only for days that have ended there."
            )
        if "Actions" in self.refused:
            text += " The Actions and Action updates syncs fail until the token has the Actions scope."
        return text


def check_impact_credentials(*, account_sid: str, auth_token: str) -> CredentialCheck:
    """Real calls, as few as possible; DomainError with plain words when Impact says no.

    CompanyInformation first (it also gives the account's time zone). A scoped token may not
    read it: then a one-minute window of Actions proves the credentials instead, and the
    refused endpoints are reported, not treated as a failure.
    """
    try:
        with ImpactClient(account_sid=account_sid, auth_token=auth_token, retries=1) as client:
            try:
                return CredentialCheck(client.company_information(), [])
            except impact.ScopeError:
                refused = ["CompanyInformation"]
            try:
                client.probe_actions()
            except impact.ScopeError:
                refused.append("Actions")
            return CredentialCheck(None, refused)
    except impact.AuthError:
        raise DomainError(
            "Impact rejected this Account SID and Auth Token. Copy both again from Impact "
            "(Settings > API) and make sure the token belongs to this Account SID."
        ) from None
    except impact.RateLimited as e:
        raise DomainError(f"Impact is rate limiting this account; try again in {e.retry_after} seconds.") from None
    except impact.ImpactError as e:
        raise DomainError(f"Could not check the credentials with Impact: {e.message}") from None


@transaction.atomic
def save_connection(*, workspace, data: dict, connection: NetworkConnection | None = None) -> NetworkConnection:
    """Create or update a connection from validated form data.

    An Impact connection's credentials are checked with Impact before anything is stored
    whenever the Account SID or Auth Token changes; the token is stored encrypted only.
    Credentials entered for the first time, or for another Account SID, start the
    connection's sync history afresh (see reset_sync_history).
    """
    creating = connection is None
    kind = data["kind"] if creating else connection.kind
    conn = connection or NetworkConnection(workspace=workspace, kind=kind)
    allowlist = parse_allowlist(data.get("ip_allowlist") or "")
    conn.label = data["label"]
    conn.currency = data["currency"].upper()
    conn.settlement_day = data["settlement_day"]
    conn.ip_allowlist = "\n".join(allowlist)
    conn.sync_enabled = data.get("sync_enabled", True)
    conn.timezone = data.get("timezone") or conn.timezone or "UTC"
    username = (data.get("basic_auth_username") or "").strip()
    password = data.get("basic_auth_password") or ""
    if not username:
        conn.basic_auth_username, conn.basic_auth_password_hash = "", ""
    elif password:
        conn.basic_auth_username, conn.basic_auth_password_hash = username, make_password(password)
    elif username != conn.basic_auth_username or not conn.basic_auth_password_hash:
        raise DomainError("Enter a password for the postback HTTP Basic auth user.")
    fresh = False
    if kind == NetworkKind.IMPACT:
        fresh = _apply_impact_credentials(conn, data, creating=creating)
    elif kind == NetworkKind.SHAREASALE:
        connections.apply_shareasale_credentials(conn, data, creating=creating)
    elif kind == NetworkKind.AWIN:
        connections.apply_awin_credentials(conn, data, creating=creating)
    conn.save()
    if fresh and not creating:
        reset_sync_history(connection=conn)
    return conn


def _apply_impact_credentials(conn: NetworkConnection, data: dict, *, creating: bool) -> bool:
    """Check and store new credentials; True when they start a new sync history."""
    sid = (data.get("account_sid") or "").strip()
    token = (data.get("auth_token") or "").strip()
    if not impact.ACCOUNT_SID_RE.match(sid):
        raise DomainError("An Impact Account SID is 34 characters and starts with IR.")
    if not token and (creating or not conn.credentials_encrypted or sid != conn.account_sid):
        raise DomainError("Enter the Auth Token for this Account SID.")
    if not token:
        return False
    check = check_impact_credentials(account_sid=sid, auth_token=token)
    fresh = not conn.credentials_encrypted or sid != conn.account_sid
    conn.account_sid = sid
    conn.credentials_encrypted = encrypt_credentials({"auth_token": token})
    conn.credentials_checked_at = timezone.now()
    conn.network_timezone = check.timezone
    conn.status = NetworkConnection.Status.ACTIVE
    conn.status_message = check.warning(conn.timezone)[:500]
    return fresh


def reset_sync_history(*, connection: NetworkConnection) -> None:
    """Forget what the syncs remembered for the connection's previous account (or demo data):
    runs, cursors, applied updates, click exports and counts, learned programs. A run still
    active is kept, marked failed, so a new one can start. The next Actions run reads the
    first 90 days again."""
    now = timezone.now()
    active = list(SyncRun.objects.filter(connection=connection, status__in=SyncRun.ACTIVE).values_list("id", flat=True))
    SyncRun.objects.filter(id__in=active).update(
        status=SyncRun.Status.FAILED,
        error="The connection's credentials changed; the next run starts afresh.",
        finished_at=now,
        retry_at=None,
        updated_at=now,
    )
    SyncState.objects.filter(connection=connection).delete()
    ProcessedActionUpdate.objects.filter(connection=connection).delete()
    ClickExportJob.objects.filter(connection=connection).delete()
    NetworkClickCount.objects.filter(connection=connection).delete()
    NetworkProgram.objects.filter(connection=connection).delete()
    SyncRun.objects.filter(connection=connection).exclude(id__in=active).delete()


def rotate_postback_secret(*, connection: NetworkConnection) -> NetworkConnection:
    connection.rotate_secret()
    return connection


def rotate_credentials_all_workspaces() -> tuple[int, list[str]]:
    """Re-encrypt every stored credential with the newest key: (rotated, problems)."""
    rotated, problems = 0, []
    for conn in NetworkConnection.objects.exclude(credentials_encrypted="").only(
        "id", "label", "credentials_encrypted"
    ):
        try:
            token = rotate_token(conn.credentials_encrypted)
        except CredentialsUnreadable:
            problems.append(f"{conn.label} (id {conn.id}): no configured key decrypts its credentials")
            continue
        NetworkConnection.objects.filter(id=conn.id).update(credentials_encrypted=token)
        rotated += 1
    return rotated, problems


def client_for(connection: NetworkConnection) -> ImpactClient:
    if not connection.account_sid or not connection.credentials_encrypted:
        raise DomainError("This connection has no Impact credentials yet.")
    token = decrypt_credentials(connection.credentials_encrypted).get("auth_token", "")
    return ImpactClient(
        account_sid=connection.account_sid,
        auth_token=token,
        connection_key=str(connection.code),
        max_server_failures=MAX_SERVER_TRIES,
    )


def mark_connection_broken(*, connection: NetworkConnection, message: str) -> None:
    connection.status = NetworkConnection.Status.BROKEN
    connection.status_message = message[:500]
    connection.save(update_fields=["status", "status_message", "updated_at"])


# Runs ------------------------------------------------------------------------------------------


def is_syncable(connection: NetworkConnection) -> bool:
    return (
        connection.kind == NetworkKind.IMPACT
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
    if kind not in SyncKind.values:
        raise DomainError(f"Unknown sync kind {kind!r}.")
    if connection.kind != NetworkKind.IMPACT:
        raise DomainError("Only Impact connections sync through the API.")
    if connection.status == NetworkConnection.Status.BROKEN:
        raise DomainError(f"The connection is broken: {connection.status_message} Save new credentials first.")
    if not connection.credentials_encrypted:
        raise DomainError("Add the Impact Account SID and Auth Token first.")
    run = start_sync_run(connection=connection, kind=kind, trigger=trigger, since=since)
    if run is None:
        run = overdue_run(connection=connection, kind=kind)
        if run is None:
            raise DomainError(describe_active_run(connection, kind))
    _enqueue_on_commit(run)
    return run


def overdue_run(*, connection: NetworkConnection, kind: str) -> SyncRun | None:
    """The active run of this kind when its wait is over and nobody took it up (SyncRun.is_overdue)."""
    run = SyncRun.objects.filter(connection=connection, kind=kind, status=SyncRun.Status.WAITING).first()
    return run if run is not None and run.is_overdue else None


def describe_active_run(connection: NetworkConnection, kind: str) -> str:
    """Why a new run of this kind cannot start now, in the words "Sync now" and the command both use."""
    label = SyncKind(kind).label.lower()
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


def _enqueue_on_commit(run: SyncRun) -> None:
    from networks.tasks import run_sync as run_sync_task

    transaction.on_commit(lambda: run_sync_task.delay(run.id))


def _claim(run: SyncRun) -> bool:
    """Take the run for this worker (Celery may deliver a task twice)."""
    now = timezone.now()
    claimed = (
        SyncRun.objects.filter(id=run.id)
        .filter(
            # A waiting run is never taken before its retry time (e.g. Impact's Retry-After).
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
    if not _claim(run):
        return Outcome()
    connection = NetworkConnection.objects.select_related("workspace").get(id=run.connection_id)
    if not is_syncable(connection):
        return _finish(run, SyncRun.Status.FAILED, error=f"The connection is {connection.status}; sync skipped.")
    try:
        with client_for(connection) as client:
            client.server_failures = run.attempts  # in a row, over this run's earlier tasks
            try:
                if run.kind == SyncKind.ACTIONS:
                    _sync_actions(run, connection, client)
                elif run.kind == SyncKind.UPDATES:
                    _sync_updates(run, connection, client)
                else:
                    waiting = _request_click_exports(run, connection, client)
                    if waiting:
                        return Outcome()
            finally:
                run.requests += client.requests
                run.attempts = client.server_failures
                run.save(update_fields=["requests", "attempts", "updated_at"])
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run
        return _handle_error(run, connection, exc)
    _finish(run, SyncRun.Status.SUCCEEDED)
    return Outcome()


def _handle_error(run: SyncRun, connection: NetworkConnection, exc: Exception) -> Outcome:
    if isinstance(exc, SoftTimeLimitExceeded):
        # Every finished window is stored; a fresh task resumes from there.
        return _wait(run, 1, "Continuing in a new task (time limit of one task reached).")
    if isinstance(exc, impact.AuthError):
        mark_connection_broken(connection=connection, message=exc.message)
        _finish(run, SyncRun.Status.FAILED, error=exc.message + " Syncing is stopped until new credentials are saved.")
        return Outcome()
    if isinstance(exc, CredentialsUnreadable):
        mark_connection_broken(connection=connection, message=str(exc))
        _finish(run, SyncRun.Status.FAILED, error=str(exc))
        return Outcome()
    if isinstance(exc, impact.RateLimited):
        return _wait(run, exc.retry_after, exc.message, reason="rate limit")
    if isinstance(exc, impact.ServerError):
        if run.attempts >= MAX_SERVER_TRIES:
            _finish(
                run,
                SyncRun.Status.FAILED,
                error=f"{exc.message} Gave up after {run.attempts} tries; the next run resumes from the last "
                "stored window.",
            )
            return Outcome()
        delay = impact.backoff_seconds(run.attempts, base=RETRY_BASE, cap=RETRY_CAP)
        note = f"{exc.message} Try {run.attempts + 1} of {MAX_SERVER_TRIES} next."
        return _wait(run, int(delay) + 1, note, reason="Impact server error")
    if isinstance(exc, impact.ScopeError | impact.MalformedBody | impact.RequestRejected | impact.WindowError):
        message = getattr(exc, "message", str(exc))
        _finish(run, SyncRun.Status.FAILED, error=message)
        return Outcome()
    if isinstance(exc, DomainError):
        _finish(run, SyncRun.Status.FAILED, error=exc.message)
        return Outcome()
    log.exception("sync run %s failed", run.id)
    _finish(run, SyncRun.Status.FAILED, error=f"Unexpected error: {exc.__class__.__name__}: {exc}"[:2000])
    return Outcome()


def _wait(run: SyncRun, seconds: int, note: str, *, reason: str = "") -> Outcome:
    run.status = SyncRun.Status.WAITING
    run.retry_at = timezone.now() + timedelta(seconds=seconds)
    run.note = note[:500]
    run.save(update_fields=["status", "retry_at", "note", "updated_at"])
    return Outcome(retry_in=seconds, reason=reason)


def _finish(run: SyncRun, status: str, *, error: str = "") -> Outcome:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.retry_at = None
    if status == SyncRun.Status.SUCCEEDED:
        run.progress = 100
    run.save(update_fields=["status", "error", "finished_at", "retry_at", "progress", "updated_at"])
    SyncState.objects.filter(connection_id=run.connection_id, kind=run.kind).update(last_run=run)
    return Outcome()


def _state(connection, kind) -> SyncState:
    state, _ = SyncState.objects.get_or_create(
        connection=connection, kind=kind, defaults={"workspace_id": connection.workspace_id}
    )
    return state


def _plan_window(run: SyncRun, state: SyncState) -> None:
    if run.window_end is not None:
        return
    now = timezone.now()
    oldest = now - impact.MAX_AGE + timedelta(hours=1)
    if run.window_start is None:
        run.window_start = state.cursor_at - OVERLAP if state.cursor_at else now - INITIAL_LOOKBACK
    run.window_start = max(run.window_start, oldest)
    run.window_end = now
    run.resume_from = run.window_start
    run.save(update_fields=["window_start", "window_end", "resume_from", "updated_at"])


def _advance(run: SyncRun, state: SyncState, upto: datetime) -> None:
    """A sub-window is fully stored: move the run's resume point and the connection's cursor."""
    run.resume_from = upto
    span = (run.window_end - run.window_start).total_seconds() or 1
    run.progress = min(99, int(100 * (upto - run.window_start).total_seconds() / span))
    run.save(update_fields=["resume_from", "progress", "updated_at"])
    if state.cursor_at is None or upto > state.cursor_at:
        state.cursor_at = upto
        state.save(update_fields=["cursor_at", "updated_at"])


def _windows(client_pages, start: datetime, end: datetime):
    """Yield (window_start, window_end, pages) for 45-day windows, halving any that Impact
    would page past its 10-page limit (it answers 400 for those; a first page reporting
    more than 10 pages is halved too). ``client_pages(a, b)`` returns a page iterator."""
    for a, b in impact.split_windows(start, end):
        stack = [(a, b, 0)]
        while stack:
            lo, hi, depth = stack.pop()
            pages = client_pages(lo, hi)
            try:
                first = next(pages, None)
            except impact.RequestRejected as e:
                if e.status_code != 400 or depth >= MAX_SPLITS or hi - lo <= MIN_WINDOW:
                    raise
                first = None
                too_many = True
            else:
                too_many = first is not None and first.numpages > impact.MAX_PAGES
            if too_many:
                if hi - lo <= MIN_WINDOW or depth >= MAX_SPLITS:
                    raise impact.WindowError(
                        f"More than {impact.MAX_PAGES} pages of records between {lo:%Y-%m-%d %H:%M} and "
                        f"{hi:%Y-%m-%d %H:%M}; Impact cannot list them."
                    )
                mid = lo + (hi - lo) / 2
                stack.append((mid, hi, depth + 1))
                stack.append((lo, mid, depth + 1))
                continue
            yield lo, hi, _chain_first(first, pages)


def _chain_first(first, rest):
    if first is None:
        return
    yield first
    yield from rest


# Actions ---------------------------------------------------------------------------------------


def action_to_data(record: dict, connection: NetworkConnection) -> ConversionData:
    """An Impact Action (strings, None for missing) as ConversionData; MalformedBody if unusable."""
    action_id = record.get("Id")
    if not action_id:
        raise impact.MalformedBody("An action without an Id.")
    state = (record.get("State") or "").upper()
    if state not in STATUSES:
        raise impact.MalformedBody(f"Action {action_id} has an unknown State {record.get('State')!r}.")
    return ConversionData(
        transaction_id=(record.get("SubId1") or "")[:255],
        affiliate_id=(record.get("SubId2") or "")[:64],
        external_id=str(action_id)[:255],
        sale_amount=_money(record.get("Amount"), "Amount", action_id),
        network_payout=_money(record.get("Payout"), "Payout", action_id),
        status=STATUSES[state],
        currency=(record.get("Currency") or connection.currency or "").upper(),
        event_at=impact.parse_datetime_value(record.get("EventDate"), "EventDate"),
        locking_at=impact.parse_datetime_value(record.get("LockingDate"), "LockingDate"),
    )


def _money(value, field, action_id):
    amount = impact.parse_decimal(value, f"{field} of action {action_id}")
    return amount.quantize(Decimal("0.01")) if amount is not None else None


def _is_unchanged(conversion: Conversion, data: ConversionData) -> bool:
    return (
        conversion.status == data.status
        and (data.sale_amount is None or conversion.sale_amount == data.sale_amount)
        and (data.network_payout is None or conversion.network_payout == data.network_payout)
        and (data.locking_at is None or conversion.locking_at == data.locking_at)
    )


def store_actions(*, run: SyncRun, connection: NetworkConnection, records: list[dict]) -> None:
    """One page of Actions in one transaction.

    Unchanged actions are skipped without a write, new ones are inserted in bulk (see
    networks/bulk.py), changed ones go through record_conversion one by one.
    """
    with transaction.atomic():
        ids = [str(r.get("Id")) for r in records if r.get("Id")]
        existing = {
            c.dedupe_key: c
            for c in Conversion.objects.filter(
                workspace_id=connection.workspace_id, network=connection.kind, dedupe_key__in=ids
            ).only("dedupe_key", "status", "sale_amount", "network_payout", "locking_at")
        }
        new, changed, seen = [], [], set()
        for record in records:
            try:
                data = action_to_data(record, connection)
            except impact.MalformedBody as e:
                run.rejected_count += 1
                run.note = e.message[:500]
                continue
            current = existing.get(data.external_id)
            if current is not None and _is_unchanged(current, data):
                run.unchanged_count += 1
            elif current is None and data.external_id not in seen:
                new.append(data)
            else:
                changed.append(data)
            seen.add(data.external_id)
        created, leftovers = bulk.insert_new_conversions(
            connection=connection, items=new, source=ConversionSource.API_SYNC
        )
        run.created_count += created
        for data in leftovers + changed:
            _count(run, record_conversion(connection=connection, data=data, source=ConversionSource.API_SYNC))
        run.pages_done += 1
        run.save()


def _count(run: SyncRun, result) -> None:
    outcome = result.outcome
    if outcome in ("accepted", "unattributed"):
        run.created_count += 1
    elif outcome == "updated":
        run.updated_count += 1
    elif outcome == "duplicate" and result.repeat:
        run.unchanged_count += 1
    elif outcome == "duplicate":
        run.duplicate_count += 1
        run.note = f"Action {result.conversion.external_id if result.conversion else ''}: {result.reason}"[:500]
    else:
        run.rejected_count += 1
        run.note = f"Action {result.conversion.external_id if result.conversion else ''}: {result.reason}"[:500]


def _sync_actions(run: SyncRun, connection: NetworkConnection, client: ImpactClient) -> None:
    state = _state(connection, SyncKind.ACTIONS)
    fresh = state.cursor_at is None
    _plan_window(run, state)

    def pages(a, b):
        return client.iter_actions(start=a, end=b, date_filter="updated")

    for _lo, hi, window_pages in _windows(pages, run.resume_from, run.window_end):
        for page in window_pages:
            run.pages_total = max(run.pages_total, run.pages_done + page.numpages - page.number + 1)
            store_actions(run=run, connection=connection, records=page.records)
            remember_programs(connection=connection, records=page.records)
        _advance(run, state, hi)
    if not fresh:
        _sync_locked_actions(run, connection, client, state)


def _sync_locked_actions(run: SyncRun, connection, client, state: SyncState) -> None:
    """Actions whose LockingDate passed since the last run: Impact approves them without an 'update'."""
    start = state.locking_cursor_at - OVERLAP if state.locking_cursor_at else run.window_start
    end = timezone.now()
    start = max(start, end - impact.MAX_WINDOW)

    def pages(a, b):
        return client.iter_actions(start=a, end=b, date_filter="locking")

    for _lo, _hi, window_pages in _windows(pages, start, end):
        for page in window_pages:
            store_actions(run=run, connection=connection, records=page.records)
            remember_programs(connection=connection, records=page.records)
    state.locking_cursor_at = end
    state.save(update_fields=["locking_cursor_at", "updated_at"])


def remember_programs(*, connection: NetworkConnection, records: list[dict]) -> None:
    """Note the programs (CampaignId, CampaignName) of a page of actions for the click export."""
    names = {}
    for record in records:
        program_id = str(record.get("CampaignId") or "").strip()
        if program_id:
            names[program_id[:40]] = (record.get("CampaignName") or "")[:200]
    if not names:
        return
    now = timezone.now()
    NetworkProgram.objects.bulk_create(
        [
            NetworkProgram(
                workspace_id=connection.workspace_id,
                connection=connection,
                program_id=program_id,
                name=name,
                last_seen_at=now,
            )
            for program_id, name in names.items()
        ],
        update_conflicts=True,
        unique_fields=["connection", "program_id"],
        update_fields=["name", "last_seen_at"],
    )


# Action updates ---------------------------------------------------------------------------------


def _sync_updates(run: SyncRun, connection: NetworkConnection, client: ImpactClient) -> None:
    state = _state(connection, SyncKind.UPDATES)
    _plan_window(run, state)

    def pages(a, b):
        return client.iter_action_updates(start=a, end=b)

    for _lo, hi, window_pages in _windows(pages, run.resume_from, run.window_end):
        for page in window_pages:
            run.pages_total = max(run.pages_total, run.pages_done + page.numpages - page.number + 1)
            store_action_updates(run=run, connection=connection, records=page.records, client=client)
        _advance(run, state, hi)


def store_action_updates(*, run: SyncRun, connection: NetworkConnection, records: list[dict], client) -> None:
    """One page of the change feed, exactly once per update Id.

    Reversals are applied as they are. Other changes need Impact's absolute amounts
    (deltas are never summed onto what the Actions sync stored): when the Actions sync
    has already read past the update (its cursor is later), the conversion has them;
    otherwise the Action is read again, all of a page's actions together as windows of
    Actions by last-update date (see read_changed_actions). Updates are applied in small
    chunks, each its own transaction, so an hourly rate limit hit half-way keeps what was
    done.
    """
    by_id = {str(r["Id"]): r for r in records if r.get("Id") and r.get("ActionId")}
    run.rejected_count += len(records) - len(by_id)
    done = set(
        ProcessedActionUpdate.objects.filter(connection=connection, update_id__in=list(by_id)).values_list(
            "update_id", flat=True
        )
    )
    pending = [(uid, r) for uid, r in by_id.items() if uid not in done]
    run.unchanged_count += len(by_id) - len(pending)
    covered = _covered_updates(connection, pending)
    wanted = {
        str(r["ActionId"]): _update_date(r)
        for uid, r in pending
        if uid not in covered and (r.get("State") or "").upper() != "REVERSED"
    }
    actions = read_changed_actions(client, wanted)
    for i in range(0, len(pending), UPDATE_CHUNK):
        _apply_updates(run, connection, client, pending[i : i + UPDATE_CHUNK], covered, actions)
    run.pages_done += 1
    run.save()


def _update_date(update: dict) -> datetime | None:
    try:
        return impact.parse_datetime_value(update.get("UpdateDate"), "UpdateDate")
    except impact.MalformedBody:
        return None


def _covered_updates(connection: NetworkConnection, pending: list[tuple[str, dict]]) -> set[str]:
    """Updates the Actions sync has read past: their conversion already has the amounts."""
    actions_cursor = (
        SyncState.objects.filter(connection=connection, kind=SyncKind.ACTIONS)
        .values_list("cursor_at", flat=True)
        .first()
    )
    if actions_cursor is None:
        return set()
    known = set(
        Conversion.objects.filter(
            workspace_id=connection.workspace_id,
            network=connection.kind,
            dedupe_key__in=[str(r["ActionId"]) for _, r in pending],
        ).values_list("dedupe_key", flat=True)
    )
    covered = set()
    for uid, r in pending:
        updated_at = _update_date(r)
        if str(r["ActionId"]) in known and updated_at and updated_at < actions_cursor - OVERLAP / 24:
            covered.add(uid)
    return covered


def read_changed_actions(client: ImpactClient, wanted: dict[str, datetime | None]) -> dict[str, dict]:
    """The current Action for each id in ``wanted`` (id -> the update's UpdateDate), read as
    windows of Actions by last-update date rather than one request per action.

    An action's last update is at or after its update's UpdateDate, so the window from the
    earliest UpdateDate (less a margin) to the latest (plus a margin) finds every action not
    changed again since; a second window up to now finds those that were (when more than a
    few are missing). Whatever is still missing is left to single reads (_apply_updates).
    Pages stop once all are found.
    """
    found: dict[str, dict] = {}
    dates = [d for d in wanted.values() if d is not None]
    if not dates:
        return found
    now = timezone.now()
    oldest = now - impact.MAX_AGE + timedelta(hours=1)
    start = max(min(dates) - UPDATE_WINDOW_MARGIN, oldest)
    middle = min(max(dates) + UPDATE_WINDOW_MARGIN, now)

    def pages(a, b):
        return client.iter_actions(start=a, end=b, date_filter="updated")

    for lo, hi in ((min(start, middle - MIN_WINDOW), middle), (middle, now)):
        if hi - lo < MIN_WINDOW or (lo == middle and len(wanted) - len(found) <= FEW_SINGLE_READS):
            break  # the first window reached now, or a few single reads cost less than a window
        for _lo, _hi, window_pages in _windows(pages, lo, hi):
            for page in window_pages:
                for record in page.records:
                    action_id = str(record.get("Id") or "")
                    if action_id in wanted:
                        found[action_id] = record
                if len(found) == len(wanted):
                    return found
    return found


def _apply_updates(run, connection, client, chunk, covered: set[str], actions: dict[str, dict]) -> None:
    # Single reads only for the actions the windows did not find, before the transaction (no HTTP inside it).
    for uid, r in chunk:
        action_id = str(r["ActionId"])
        if uid in covered or (r.get("State") or "").upper() == "REVERSED" or action_id in actions:
            continue
        actions[action_id] = client.action(action_id)
    with transaction.atomic():
        for uid, r in chunk:
            try:
                with transaction.atomic():
                    ProcessedActionUpdate.objects.create(
                        workspace_id=connection.workspace_id,
                        connection=connection,
                        update_id=uid[:100],
                        action_id=str(r["ActionId"])[:100],
                    )
                    if uid in covered:
                        run.unchanged_count += 1
                        continue
                    data = _update_to_data(r, actions.get(str(r["ActionId"])), connection)
                    _count(run, record_conversion(connection=connection, data=data, source=ConversionSource.API_SYNC))
            except IntegrityError:
                run.unchanged_count += 1  # a concurrent run applied it
            except impact.MalformedBody as e:
                run.rejected_count += 1
                run.note = e.message[:500]
        run.save()


def _update_to_data(update: dict, action: dict | None, connection) -> ConversionData:
    if (update.get("State") or "").upper() != "REVERSED":
        return action_to_data(action, connection)
    return ConversionData(
        transaction_id=(update.get("SubId1") or "")[:255],
        affiliate_id=(update.get("SubId2") or "")[:64],
        external_id=str(update["ActionId"])[:255],
        status="reversed",
        currency=(update.get("Currency") or connection.currency or "").upper(),
        event_at=impact.parse_datetime_value(update.get("ActionDate"), "ActionDate"),
        locking_at=impact.parse_datetime_value(update.get("LockingDate"), "LockingDate"),
    )


# Click exports -----------------------------------------------------------------------------------


def programs_for(connection: NetworkConnection, client: ImpactClient) -> tuple[list[tuple[str, str]], str]:
    """Programs to export clicks for, and a note for the run.

    The account's Campaigns with an active contract; when the token may not read Campaigns
    (a scoped token needs only Actions, Clicks and Jobs Management), the programs seen on
    the connection's synced actions (their CampaignId), most recent first.
    """
    try:
        programs = []
        for campaign in client.iter_campaigns():
            program_id = campaign.get("CampaignId")
            if program_id and (campaign.get("ContractStatus") or "Active") == "Active":
                programs.append((str(program_id), campaign.get("CampaignName") or ""))
        return programs, ""
    except impact.ScopeError:
        learned = list(
            NetworkProgram.objects.filter(connection=connection)
            .order_by("-last_seen_at", "program_id")
            .values_list("program_id", "name")
        )
    note = "This token may not read Campaigns (403), so the programs come from the synced actions"
    if not learned:
        note += "; none yet (each Actions sync notes the programs of the actions it reads)."
    return learned, note + "."


def account_timezone(connection: NetworkConnection, client: ImpactClient) -> ZoneInfo:
    """The account's time zone: CompanyInformation's Timezone when the token may read it
    (remembered on the connection), else the last one Impact gave, else the connection's
    time zone setting. Only a rate limit, a server error or refused credentials stop the
    export here; any other refusal of this optional call falls back."""
    try:
        company = client.company_information()
    except (impact.ScopeError, impact.RequestRejected, impact.MalformedBody):
        return connection.account_timezone
    name = CredentialCheck(company, []).timezone
    if name and name != connection.network_timezone:
        connection.network_timezone = name
        connection.save(update_fields=["network_timezone", "updated_at"])
    return connection.account_timezone


def click_export_day(tz: ZoneInfo, now: datetime) -> date:
    """The last day that has ended in the account's time zone: never the day still running there."""
    return now.astimezone(tz).date() - timedelta(days=1)


def exports_today(connection: NetworkConnection) -> int:
    midnight = datetime.combine(timezone.now().astimezone(UTC).date(), time.min, tzinfo=UTC)
    return (
        ClickExportJob.objects.filter(connection=connection, created_at__gte=midnight)
        .exclude(status=ClickExportJob.Status.REQUESTING)
        .count()
    )


def _request_click_exports(run: SyncRun, connection: NetworkConnection, client: ImpactClient) -> bool:
    """Submit the day's exports; True when jobs are now queued (the run waits on their polls).

    The day is one that has ended in the account's time zone (Impact's ``Date`` is a day
    there, and its clicks are still being processed until the next day), fixed on the
    run's first try so a resumed run asks for the same day.
    """
    if run.window_start is None:
        tz = account_timezone(connection, client)
        day = click_export_day(tz, timezone.now())
        run.window_start = datetime.combine(day, time.min, tzinfo=tz)
        run.window_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
        run.save(update_fields=["window_start", "window_end", "updated_at"])
    else:
        tz = connection.account_timezone
        day = min(run.window_start.astimezone(tz).date(), click_export_day(tz, timezone.now()))
    quota = impact.CLICK_EXPORTS_PER_DAY - exports_today(connection)
    skipped = []
    programs, programs_note = programs_for(connection, client)
    for program_id, name in programs:
        job, created = ClickExportJob.objects.get_or_create(
            connection=connection,
            program_id=program_id,
            date=day,
            defaults={"workspace_id": connection.workspace_id, "program_name": name[:200], "run": run},
        )
        if not created and job.status != ClickExportJob.Status.REQUESTING:
            continue  # already submitted once: never again (it would burn quota and refresh nothing)
        if quota <= 0:
            skipped.append(program_id)
            continue
        data = client.start_click_export(program_id=program_id, day=day)
        job.run = run
        job.job_id = data["JobId"][:64]
        job.result_uri = (data.get("ResultUri") or "")[:500]
        job.status = ClickExportJob.Status.QUEUED
        job.save(update_fields=["run", "job_id", "result_uri", "status", "updated_at"])
        quota -= 1
        _enqueue_poll(job, POLL_FIRST)
    jobs = ClickExportJob.objects.filter(run=run)
    run.pages_total = jobs.count()
    notes = [programs_note] if programs_note else []
    if skipped:
        limit = impact.CLICK_EXPORTS_PER_DAY
        notes.append(f"Daily limit of {limit} exports reached; not exported: {', '.join(skipped)}")
    elif not run.pages_total:
        notes.append(f"Clicks for {day} were already exported." if programs else "No active programs to export.")
    run.note = " ".join(notes)[:500]
    run.save(update_fields=["pages_total", "note", "updated_at"])
    if not run.pages_total:
        return False
    run.status = SyncRun.Status.WAITING
    run.save(update_fields=["status", "updated_at"])
    return True


def _enqueue_poll(job: ClickExportJob, countdown: int) -> None:
    from networks.tasks import poll_click_export as poll_click_export_task

    transaction.on_commit(lambda: poll_click_export_task.apply_async(args=[job.id], countdown=countdown))


def poll_click_export(*, job: ClickExportJob) -> Outcome:
    """Look at one export job once; the task re-schedules itself when told to."""
    if job.is_finished:
        return Outcome()
    connection = NetworkConnection.objects.select_related("workspace").get(id=job.connection_id)
    if not is_syncable(connection):
        return _finish_job(job, ClickExportJob.Status.FAILED, f"The connection is {connection.status}.")
    try:
        with client_for(connection) as client:
            return _poll(job, client)
    except impact.AuthError as e:
        mark_connection_broken(connection=connection, message=e.message)
        return _finish_job(job, ClickExportJob.Status.FAILED, e.message)
    except impact.RateLimited as e:
        return Outcome(retry_in=e.retry_after)
    except impact.ServerError:
        job.polls += 1
        job.save(update_fields=["polls", "updated_at"])
        if job.polls >= MAX_POLLS:
            return _finish_job(job, ClickExportJob.Status.FAILED, "Impact kept failing; gave up.")
        return Outcome(retry_in=int(impact.backoff_seconds(min(job.polls, 6), base=RETRY_BASE, cap=RETRY_CAP)) + 1)
    except (impact.ImpactError, impact.WindowError, CredentialsUnreadable, DomainError) as e:
        return _finish_job(job, ClickExportJob.Status.FAILED, getattr(e, "message", str(e)))


def _poll(job: ClickExportJob, client: ImpactClient) -> Outcome:
    data = client.job(job.job_id)
    job.polls += 1
    status = (data.get("Status") or "").upper()
    job.status_message = (data.get("StatusMessage") or "")[:500]
    if status in ("QUEUED", "RUNNING"):
        job.status = ClickExportJob.Status.QUEUED if status == "QUEUED" else ClickExportJob.Status.RUNNING
        job.save(update_fields=["status", "status_message", "polls", "updated_at"])
        if job.polls >= MAX_POLLS:
            return _finish_job(job, ClickExportJob.Status.FAILED, "Impact did not finish the export in time.")
        return Outcome(retry_in=min(POLL_CAP, POLL_FIRST * 2 ** min(job.polls, 5)))
    if status == "ERROR":
        job.status = ClickExportJob.Status.ERROR
        job.save(update_fields=["status", "status_message", "polls", "updated_at"])
        return Outcome(retry_in=ERROR_POLL)
    if status in ("FAILED", "CANCELLED", "ABANDONED"):
        message = job.status_message or f"Impact reports the export as {status.lower()}."
        return _finish_job(job, ClickExportJob.Status.FAILED, f"{status}: {message}")
    if status != "COMPLETED":
        raise impact.MalformedBody(f"Impact's job has an unknown Status {status!r}.")
    rows = client.iter_download(data.get("ResultUri") or job.result_uri)
    if rows is None:  # 202: the file is not ready yet
        job.status = ClickExportJob.Status.DOWNLOADING
        job.save(update_fields=["status", "status_message", "polls", "updated_at"])
        return Outcome(retry_in=POLL_FIRST)
    store_click_counts(job=job, rows=rows)
    return _finish_job(job, ClickExportJob.Status.DONE, job.status_message)


def store_click_counts(*, job: ClickExportJob, rows) -> int:
    """Count the export's rows per program and SubId1 (streamed) and store them for the day."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    n = 0
    for row in rows:
        n += 1
        program = str(row.get("ProgramId") or row.get("CampaignId") or job.program_id)[:40]
        sub_id1 = (row.get("SubId1") or "")[:255]
        if not sub_id1 and isinstance(row.get("PartnerRelated"), list) and row["PartnerRelated"]:
            sub_id1 = (row["PartnerRelated"][0].get("SubId1") or "")[:255]
        entry = counts[(program, sub_id1)]
        entry[0] += 1
        if str(row.get("UniqueClick") or "").lower() == "true":
            entry[1] += 1
    now = timezone.now()
    objs = [
        NetworkClickCount(
            workspace_id=job.workspace_id,
            connection_id=job.connection_id,
            program_id=program,
            date=job.date,
            sub_id1=sub_id1,
            clicks=c[0],
            unique_clicks=c[1],
            imported_at=now,
        )
        for (program, sub_id1), c in counts.items()
    ]
    with transaction.atomic():
        NetworkClickCount.objects.bulk_create(
            objs,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["connection", "program_id", "date", "sub_id1"],
            update_fields=["clicks", "unique_clicks", "imported_at"],
        )
        job.rows = n
        job.save(update_fields=["rows", "updated_at"])
    return n


def _finish_job(job: ClickExportJob, status: str, message: str) -> Outcome:
    job.status = status
    job.status_message = message[:500]
    job.completed_at = timezone.now()
    job.save(update_fields=["status", "status_message", "completed_at", "polls", "updated_at"])
    if job.run_id:
        _settle_click_run(job.run_id)
    return Outcome()


def _settle_click_run(run_id: int) -> None:
    """Progress of a click-export run; it ends when its last job does."""
    run = SyncRun.objects.get(id=run_id)
    jobs = list(ClickExportJob.objects.filter(run_id=run_id).values_list("status", "rows", "status_message"))
    finished = [j for j in jobs if j[0] in ClickExportJob.FINISHED]
    run.pages_done = len(finished)
    run.pages_total = len(jobs)
    run.created_count = sum(j[1] for j in jobs)
    run.progress = int(100 * len(finished) / len(jobs)) if jobs else 100
    run.save(update_fields=["pages_done", "pages_total", "created_count", "progress", "updated_at"])
    if len(finished) < len(jobs) or not run.is_active:
        return
    failures = [j[2] for j in jobs if j[0] == ClickExportJob.Status.FAILED]
    if failures:
        _finish(run, SyncRun.Status.FAILED, error="; ".join(failures)[:2000])
    else:
        _finish(run, SyncRun.Status.SUCCEEDED)


# Schedule --------------------------------------------------------------------------------------


def next_run_time(kind: str, now: datetime, tz: ZoneInfo | None = None) -> datetime:
    """When a sync of this kind is next due; the click export at CLICKS_HOUR in the account's time zone."""
    if kind == SyncKind.CLICKS:
        tz = tz or ZoneInfo("UTC")
        local = now.astimezone(tz)
        today = datetime.combine(local.date(), time(CLICKS_HOUR), tzinfo=tz)
        if today > now:
            return today
        return datetime.combine(local.date() + timedelta(days=1), time(CLICKS_HOUR), tzinfo=tz)
    return now + INTERVALS[kind]


def dispatch_due_syncs_all_workspaces(*, now: datetime | None = None) -> list[int]:
    """Beat: start every due sync of every active Impact connection; returns the new run ids."""
    now = now or timezone.now()
    started = []
    connections = NetworkConnection.objects.filter(
        kind=NetworkKind.IMPACT, status=NetworkConnection.Status.ACTIVE, sync_enabled=True
    ).exclude(credentials_encrypted="")
    for connection in connections:
        for kind in SyncKind.values:
            with transaction.atomic():
                state = _state(connection, kind)
                if state.next_run_at and state.next_run_at > now:
                    continue
                tz = connection.account_timezone
                if kind == SyncKind.CLICKS and state.next_run_at is None and now.astimezone(tz).hour < CLICKS_HOUR:
                    state.next_run_at = next_run_time(kind, now, tz)
                    state.save(update_fields=["next_run_at", "updated_at"])
                    continue
                run = start_sync_run(connection=connection, kind=kind, trigger=SyncRun.Trigger.SCHEDULE)
                state.next_run_at = next_run_time(kind, now, tz)
                state.save(update_fields=["next_run_at", "updated_at"])
                if run is not None:
                    _enqueue_on_commit(run)
                    started.append(run.id)
    return started


def resume_lost_work_all_workspaces(*, now: datetime | None = None) -> tuple[int, int]:
    """Beat: re-enqueue runs and export polls whose task message was lost (a broker restart).

    Claiming is idempotent, so a run or poll enqueued twice still runs once.
    Returns (runs, polls) re-enqueued.
    """
    from networks.tasks import poll_click_export as poll_click_export_task
    from networks.tasks import run_sync as run_sync_task

    now = now or timezone.now()
    lost_runs = SyncRun.objects.filter(status=SyncRun.Status.WAITING, updated_at__lt=now - LOST_AFTER).filter(
        Q(retry_at__lt=now - LOST_AFTER) | Q(retry_at__isnull=True, kind__in=[SyncKind.ACTIONS, SyncKind.UPDATES])
    )
    run_ids = list(lost_runs.values_list("id", flat=True)[:100])
    for run_id in run_ids:
        run_sync_task.delay(run_id)
    # A job waits at most POLL_CAP (or ERROR_POLL) between polls; twice that means its poll was lost.
    lost_jobs = ClickExportJob.objects.exclude(status__in=[*ClickExportJob.FINISHED, ClickExportJob.Status.REQUESTING])
    job_ids = list(
        lost_jobs.filter(updated_at__lt=now - 2 * timedelta(seconds=POLL_CAP)).values_list("id", flat=True)[:100]
    )
    for job_id in job_ids:
        poll_click_export_task.delay(job_id)
    return len(run_ids), len(job_ids)


def parse_since(value: str) -> datetime:
    """The command's --since (YYYY-MM-DD) as the start of that day, checked by check_since."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise DomainError("Give --since as YYYY-MM-DD.") from None
    return check_since(day)


def check_since(day: date, *, today: date | None = None) -> datetime:
    """A sync window's first day (UTC midnight): in the past, and not more than 3 years back
    (Impact keeps no older actions); DomainError says which rule it breaks."""
    today = today or timezone.now().astimezone(UTC).date()
    if day > today:
        raise DomainError("Pick a day that is not in the future.")
    oldest = today - impact.MAX_AGE + timedelta(days=1)
    if day < oldest:
        raise DomainError(f"Impact keeps actions for 3 years: pick {oldest.isoformat()} or later.")
    return datetime.combine(day, time.min, tzinfo=UTC)
