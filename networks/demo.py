"""Demo sync history and Impact click counts for the demo Impact connection (see seeddemo).

Only what a page shows: past runs and daily click counts. No sync cursor and no click
export job is planted, so nothing of the demo holds back a real sync once a user enters
the connection's credentials (which start its sync history afresh anyway).
"""

from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from networks.models import NetworkClickCount, SyncKind, SyncRun, SyncState
from tracking.models import Click

PROGRAM_ID = "1000"


def seed(ctx: dict) -> None:
    connection = (ctx.get("connections") or {}).get("impact")
    if connection is None:
        return
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    if not SyncRun.objects.filter(connection=connection).exists():
        _seed_runs(connection, now)
    if not NetworkClickCount.objects.filter(connection=connection).exists():
        _seed_clicks(connection, now)
    ctx["out"]["impact_sync"] = {
        "connection": str(connection.code),
        "runs": SyncRun.objects.filter(connection=connection).count(),
        "click_count_days": NetworkClickCount.objects.filter(connection=connection).values("date").distinct().count(),
    }


def _seed_runs(connection, now) -> None:
    history = [
        # (kind, hours ago, status, created, updated, unchanged, error)
        (SyncKind.ACTIONS, 26, SyncRun.Status.SUCCEEDED, 42, 3, 0, ""),
        (SyncKind.UPDATES, 26, SyncRun.Status.SUCCEEDED, 0, 2, 1, ""),
        (SyncKind.ACTIONS, 2, SyncRun.Status.FAILED, 0, 0, 0, "Impact answered 503 for /Actions; gave up."),
        (SyncKind.ACTIONS, 1, SyncRun.Status.SUCCEEDED, 5, 4, 37, ""),
        (SyncKind.UPDATES, 1, SyncRun.Status.SUCCEEDED, 0, 1, 4, ""),
        (SyncKind.CLICKS, 5, SyncRun.Status.SUCCEEDED, 318, 0, 0, ""),
    ]
    last = {}
    for kind, hours, status, created, updated, unchanged, error in history:
        started = now - timedelta(hours=hours)
        run = SyncRun.objects.create(
            workspace_id=connection.workspace_id,
            connection=connection,
            kind=kind,
            status=status,
            window_start=started - timedelta(days=1),
            window_end=started,
            progress=100,
            pages_done=1,
            pages_total=1,
            created_count=created,
            updated_count=updated,
            unchanged_count=unchanged,
            requests=2,
            error=error,
            started_at=started,
            finished_at=started + timedelta(seconds=40),
        )
        last[kind] = run
    for kind, run in last.items():
        SyncState.objects.update_or_create(
            connection=connection, kind=kind, defaults={"workspace_id": connection.workspace_id, "last_run": run}
        )


def _seed_clicks(connection, now) -> None:
    """A week of Impact's daily counts: a little more than ours (its clicks include ones we never saw)."""
    today = now.date()
    ours = dict(
        Click.objects.filter(
            workspace_id=connection.workspace_id,
            offer__connection=connection,
            is_bot=False,
            created_at__date__gte=today - timedelta(days=7),
        )
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    for days_ago in range(1, 8):
        day = today - timedelta(days=days_ago)
        theirs = ours.get(day, 0) + 2 + days_ago % 3
        NetworkClickCount.objects.create(
            workspace_id=connection.workspace_id,
            connection=connection,
            program_id=PROGRAM_ID,
            date=day,
            sub_id1="",
            clicks=theirs,
            unique_clicks=theirs * 4 // 5,
        )
