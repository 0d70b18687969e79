"""Reads for the Networks pages."""

from datetime import timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from networks.models import (
    ClickExportJob,
    NetworkClickCount,
    NetworkConnection,
    NetworkPayout,
    SyncRun,
    SyncState,
    kind_label,
)
from networks.services.runs import adapter_for
from tracking.models import Click


def list_connections(*, workspace) -> list[dict]:
    """Each connection with its last and next run per sync kind and its active runs."""
    connections = list(NetworkConnection.objects.filter(workspace=workspace).order_by("kind", "label"))
    states = {
        (s.connection_id, s.kind): s
        for s in SyncState.objects.filter(connection__in=connections).select_related("last_run")
    }
    active = {
        (r.connection_id, r.kind): r
        for r in SyncRun.objects.filter(connection__in=connections, status__in=SyncRun.ACTIVE)
    }
    rows = []
    for conn in connections:
        kinds = []
        adapter = adapter_for(conn)
        for kind in adapter.kinds if adapter else ():
            state = states.get((conn.id, kind))
            kinds.append(
                {
                    "kind": kind,
                    "label": kind_label(conn.kind, kind),
                    "windowed": kind in adapter.windowed,
                    "last_run": state.last_run if state else None,
                    "next_run_at": state.next_run_at if state else None,
                    "active": active.get((conn.id, kind)),
                }
            )
        hint = adapter.credentials_hint if adapter else ""
        rows.append({"connection": conn, "kinds": kinds, "credentials_hint": hint})
    return rows


def recent_runs(*, workspace, connection=None, limit=20):
    runs = SyncRun.objects.filter(workspace=workspace).select_related("connection").order_by("-started_at")
    if connection is not None:
        runs = runs.filter(connection=connection)
    return runs[:limit]


def click_comparison(*, workspace, connection, days=14) -> list[dict]:
    """Per day: clicks Impact counted (from click exports) beside ours on the connection's offers."""
    since = timezone.now().date() - timedelta(days=days)
    theirs = {
        row["date"]: row
        for row in NetworkClickCount.objects.filter(workspace=workspace, connection=connection, date__gte=since)
        .values("date")
        .annotate(clicks=Sum("clicks"), unique=Sum("unique_clicks"))
    }
    ours = {
        row["day"]: row["n"]
        for row in Click.objects.filter(
            workspace=workspace, offer__connection=connection, created_at__date__gte=since, is_bot=False
        )
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
    }
    days_list = sorted(set(theirs) | set(ours), reverse=True)
    return [
        {
            "date": d,
            # None: the network has not reported that day (no export yet), drawn as a gap, not as zero clicks.
            "network_clicks": theirs[d]["clicks"] if d in theirs else None,
            "network_unique": theirs[d]["unique"] if d in theirs else None,
            "our_clicks": ours.get(d, 0),
        }
        for d in days_list
    ]


def recent_exports(*, workspace, connection, limit=10):
    return ClickExportJob.objects.filter(workspace=workspace, connection=connection).order_by("-date", "program_id")[
        :limit
    ]


def recent_payouts(*, workspace, connection, limit=12):
    """What the network says it paid us, newest first, with the settlement each was matched to."""
    return (
        NetworkPayout.objects.filter(workspace=workspace, connection=connection)
        .select_related("settlement")
        .order_by("-paid_on", "-id")[:limit]
    )
