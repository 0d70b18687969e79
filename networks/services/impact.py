"""The Impact adapter: what Actions, ActionUpdates and click-export runs do.

- Actions: windows of at most 45 days from the stored cursor (minus an overlap) to now,
  paged 2,000 at a time; a window Impact would page past 10 pages is halved first. Each
  page is one transaction (networks/services/records.py); each Action is a record keyed
  by its ActionId, so a postback and a sync of one sale are one conversion. A second pass
  over LockingDate picks up pending actions that locked (Impact does not count that
  transition as an update). The programs (CampaignId) the actions belong to are
  remembered for the click export.
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

Reading Actions (windows, parsing, items, the Actions behind updates) is
networks/services/impact_actions.py. Impact's own limits are the client's
(networks/impact.py): a 429 blocks the whole limit group for every worker; 5xx answers
and timeouts are counted in a row across the run's tasks.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from networks import impact
from networks.crypto import CredentialsUnreadable, decrypt_credentials
from networks.impact import ImpactClient
from networks.models import (
    ClickExportJob,
    NetworkClickCount,
    NetworkProgram,
    ProcessedActionUpdate,
    SyncKind,
    SyncRun,
    SyncState,
)
from networks.services import records as store
from networks.services.connections import CredentialCheck, mark_connection_broken
from networks.services.impact_actions import (
    action_to_data,
    action_windows,
    fetch_new_action_items,
    read_changed_actions,
    update_to_data,
)
from networks.services.runs import (
    MAX_SERVER_TRIES,
    OVERLAP,
    RETRY_BASE,
    RETRY_CAP,
    Adapter,
    Outcome,
    advance,
    finish,
    is_syncable,
    plan_window,
    sync_state,
)
from offers.models import NetworkConnection, NetworkKind
from tracking.models import Conversion, ConversionSource
from tracking.services import record_conversion
from workspaces.errors import DomainError

UPDATE_CHUNK = 50  # change-feed updates applied per transaction
POLL_FIRST = 30
POLL_CAP = 900
ERROR_POLL = 900  # Impact retries an ERROR job every 15 minutes
MAX_POLLS = 120


def sync(run: SyncRun, connection: NetworkConnection, client: ImpactClient) -> bool:
    if run.kind == SyncKind.ACTIONS:
        _sync_actions(run, connection, client)
    elif run.kind == SyncKind.UPDATES:
        _sync_updates(run, connection, client)
    else:
        return _request_click_exports(run, connection, client)
    return False


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


# Actions ---------------------------------------------------------------------------------------


def store_actions(
    *, run: SyncRun, connection: NetworkConnection, records: list[dict], action_items: dict | None = None
) -> None:
    """One page of Actions in one transaction (networks/services/records.py); an Action that
    cannot be read is counted rejected and named in the run's note. ``action_items`` maps
    action ids to their fetched ActionItems."""
    items = []
    action_items = action_items or {}
    for record in records:
        try:
            items.append(action_to_data(record, connection, tuple(action_items.get(str(record.get("Id")), ()))))
        except impact.MalformedBody as e:
            store.reject(run, e.message)
    store.store_records(run=run, connection=connection, items=items)


def _sync_actions(run: SyncRun, connection: NetworkConnection, client: ImpactClient) -> None:
    state = sync_state(connection, SyncKind.ACTIONS)
    fresh = state.cursor_at is None
    plan_window(run, state, max_age=impact.MAX_AGE)

    def pages(a, b):
        return client.iter_actions(start=a, end=b, date_filter="updated")

    for _lo, hi, window_pages in action_windows(pages, run.resume_from, run.window_end):
        for page in window_pages:
            run.pages_total = max(run.pages_total, run.pages_done + page.numpages - page.number + 1)
            found = fetch_new_action_items(run=run, connection=connection, client=client, records=page.records)
            store_actions(run=run, connection=connection, records=page.records, action_items=found)
            remember_programs(connection=connection, records=page.records)
        advance(run, state, hi)
    if not fresh:
        _sync_locked_actions(run, connection, client, state)


def _sync_locked_actions(run: SyncRun, connection, client, state: SyncState) -> None:
    """Actions whose LockingDate passed since the last run: Impact approves them without an 'update'."""
    start = state.locking_cursor_at - OVERLAP if state.locking_cursor_at else run.window_start
    end = timezone.now()
    start = max(start, end - impact.MAX_WINDOW)

    def pages(a, b):
        return client.iter_actions(start=a, end=b, date_filter="locking")

    for _lo, _hi, window_pages in action_windows(pages, start, end):
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
    state = sync_state(connection, SyncKind.UPDATES)
    plan_window(run, state, max_age=impact.MAX_AGE)

    def pages(a, b):
        return client.iter_action_updates(start=a, end=b)

    for _lo, hi, window_pages in action_windows(pages, run.resume_from, run.window_end):
        for page in window_pages:
            run.pages_total = max(run.pages_total, run.pages_done + page.numpages - page.number + 1)
            store_action_updates(run=run, connection=connection, records=page.records, client=client)
        advance(run, state, hi)


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
    run.save(update_fields=[*store.COUNTS, "note", "updated_at"])


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
                    data = update_to_data(r, actions.get(str(r["ActionId"])), connection)
                    store.count(
                        run, record_conversion(connection=connection, data=data, source=ConversionSource.API_SYNC)
                    )
            except IntegrityError:
                run.unchanged_count += 1  # a concurrent run applied it
            except impact.MalformedBody as e:
                store.reject(run, e.message)
        run.save(update_fields=[*store.COUNTS, "note", "updated_at"])


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
        finish(run, SyncRun.Status.FAILED, error="; ".join(failures)[:2000])
    else:
        finish(run, SyncRun.Status.SUCCEEDED)


def lost_export_polls(*, now: datetime) -> int:
    """Re-enqueue the polls of export jobs whose task message was lost; returns how many.

    A job waits at most POLL_CAP (or ERROR_POLL) between polls; twice that means its poll was lost.
    """
    from networks.tasks import poll_click_export as poll_click_export_task

    lost_jobs = ClickExportJob.objects.exclude(status__in=[*ClickExportJob.FINISHED, ClickExportJob.Status.REQUESTING])
    job_ids = list(
        lost_jobs.filter(updated_at__lt=now - 2 * timedelta(seconds=POLL_CAP)).values_list("id", flat=True)[:100]
    )
    for job_id in job_ids:
        poll_click_export_task.delay(job_id)
    return len(job_ids)


ADAPTER = Adapter(
    name="Impact",
    network=NetworkKind.IMPACT,
    kinds=(SyncKind.ACTIONS, SyncKind.UPDATES, SyncKind.CLICKS),
    intervals={SyncKind.ACTIONS: timedelta(hours=1), SyncKind.UPDATES: timedelta(hours=1)},
    open_client=client_for,
    sync=sync,
    max_age=impact.MAX_AGE,
    credentials_hint="Add the Impact Account SID and Auth Token first.",
    history_note="Impact keeps actions for 3 years",
    windowed=frozenset({SyncKind.ACTIONS, SyncKind.UPDATES}),
)
