"""Alerts: rules over the hub's own rows, each finding one open alert until it clears.

Every evaluation runs all rules for a workspace and compares what they find with the open
alerts: a new finding opens an alert (published as ``alert.opened`` for webhooks, and emailed
to the owners), a finding that holds keeps its alert open, and an open alert no rule finds
any more is closed. One open alert per kind and key (a database constraint), so no storms.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from networks.models import NetworkClickCount, SyncRun
from networks.services import adapter_for, is_syncable
from offers.models import NetworkConnection
from outbound.models import Alert, AlertKind, AlertSettings
from outbound.services.linkcheck import active_offers, latest_checks
from payments.models import Payment, Settlement
from tracking.models import Click, PostbackLog
from workspaces.emails import send_templated
from workspaces.models import Membership, Role, Workspace
from workspaces.outbox import publish

log = logging.getLogger(__name__)

# Below these volumes a percentage says nothing.
MIN_CLICKS_COMPARED = 20
MIN_POSTBACKS_JUDGED = 10
# A connection "usually sends postbacks" when it sent some on this many of the last 7 days.
USUAL_POSTBACK_DAYS = 3
TRACKING_LOSS_DAYS = 3


@dataclass(frozen=True)
class Finding:
    kind: str
    key: str
    title: str
    detail: str = ""
    path: str = ""


def settings_for(workspace: Workspace) -> AlertSettings:
    config, _ = AlertSettings.objects.get_or_create(workspace=workspace)
    return config


def update_alert_settings(*, workspace: Workspace, **values) -> AlertSettings:
    config = settings_for(workspace)
    for name, value in values.items():
        setattr(config, name, value)
    config.full_clean()
    config.save()
    return config


def evaluate_alerts_all_workspaces(*, now: datetime | None = None) -> tuple[int, int]:
    opened = closed = 0
    for workspace in Workspace.objects.order_by("id"):
        o, c = evaluate_alerts(workspace=workspace, now=now)
        opened, closed = opened + o, closed + c
    return opened, closed


def evaluate_alerts(*, workspace: Workspace, now: datetime | None = None) -> tuple[int, int]:
    """Run every rule for ``workspace`` and open or close alerts; returns (opened, closed)."""
    now = now or timezone.now()
    config = settings_for(workspace)
    connections = list(NetworkConnection.objects.filter(workspace=workspace))
    findings = [
        *tracking_loss(workspace, connections, config, now),
        *postback_trouble(workspace, connections, config, now),
        *sync_trouble(connections, now),
        *money_trouble(workspace, config, now),
        *broken_links(workspace),
    ]
    return apply_findings(workspace=workspace, findings=findings, config=config, now=now)


def _connection_path(conn) -> str:
    return reverse("networks:detail", kwargs={"code": conn.code})


def tracking_loss(workspace, connections, config, now) -> list[Finding]:
    found = []
    for conn in connections:
        since = timezone.localdate(now, conn.account_timezone) - timedelta(days=TRACKING_LOSS_DAYS)
        theirs = dict(
            NetworkClickCount.objects.filter(connection=conn, date__gte=since, date__lt=since + timedelta(days=3))
            .values_list("date")
            .annotate(n=Sum("clicks"))
        )
        worst = None
        for day, network_clicks in sorted(theirs.items()):
            ours = _our_clicks(conn, day)
            top = max(ours, network_clicks)
            if top < MIN_CLICKS_COMPARED:
                continue
            gap = round(abs(ours - network_clicks) * 100 / top)
            if gap > config.tracking_loss_percent and (worst is None or gap > worst[0]):
                worst = (gap, day, ours, network_clicks)
        if worst:
            gap, day, ours, network_clicks = worst
            found.append(
                Finding(
                    AlertKind.TRACKING_LOSS,
                    f"connection:{conn.code}",
                    f"{conn.label}: clicks differ by {gap} % from the network's",
                    f"On {day}: {ours} clicks here, {network_clicks} in the network's click export "
                    f"(threshold {config.tracking_loss_percent} %). A redirect may be dropping the click id.",
                    _connection_path(conn),
                )
            )
    return found


def _our_clicks(conn, day) -> int:
    zone = conn.account_timezone
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    return Click.objects.filter(
        workspace_id=conn.workspace_id,
        offer__connection=conn,
        is_bot=False,
        created_at__gte=start,
        created_at__lt=start + timedelta(days=1),
    ).count()


def postback_trouble(workspace, connections, config, now) -> list[Finding]:
    found = []
    hits = PostbackLog.objects.filter(workspace=workspace, is_test=False)
    for conn in connections:
        last_hour = hits.filter(connection=conn, received_at__gte=now - timedelta(hours=1)).aggregate(
            total=Count("id"),
            bad=Count("id", filter=Q(outcome__in=[PostbackLog.Outcome.REJECTED, PostbackLog.Outcome.UNATTRIBUTED])),
        )
        if last_hour["total"] >= MIN_POSTBACKS_JUDGED:
            share = round(last_hour["bad"] * 100 / last_hour["total"])
            if share > config.postback_reject_percent:
                found.append(
                    Finding(
                        AlertKind.POSTBACK_REJECTS,
                        f"connection:{conn.code}",
                        f"{conn.label}: {share} % of postbacks rejected or unattributed",
                        f"{last_hour['bad']} of {last_hour['total']} postbacks in the last hour "
                        f"(threshold {config.postback_reject_percent} %). Check the postback URL at the network.",
                        reverse("tracking:postback_list") + "?outcome=rejected",
                    )
                )
        week = hits.filter(connection=conn, received_at__gte=now - timedelta(days=7))
        days = week.annotate(day=TruncDate("received_at")).values("day").distinct().count()
        latest = week.aggregate(latest=Max("received_at"))["latest"]
        silent_for = timedelta(hours=config.postback_silence_hours)
        if days >= USUAL_POSTBACK_DAYS and latest and now - latest > silent_for:
            found.append(
                Finding(
                    AlertKind.POSTBACK_SILENCE,
                    f"connection:{conn.code}",
                    f"{conn.label}: no postback for {config.postback_silence_hours} hours",
                    f"The last one came at {latest:%Y-%m-%d %H:%M} UTC; it usually sends them every day.",
                    _connection_path(conn),
                )
            )
    return found


def sync_trouble(connections, now) -> list[Finding]:
    found = []
    for conn in connections:
        if conn.status == NetworkConnection.Status.BROKEN:
            found.append(
                Finding(
                    AlertKind.CONNECTION_BROKEN,
                    f"connection:{conn.code}",
                    f"{conn.label}: the connection is broken",
                    conn.status_message or "The network refused the credentials; enter new ones.",
                    _connection_path(conn),
                )
            )
            continue
        if not conn.sync_enabled or not is_syncable(conn):
            continue
        adapter = adapter_for(conn)
        for kind in adapter.kinds:
            every = adapter.intervals.get(kind, timedelta(days=1))
            last = SyncRun.objects.filter(connection=conn, kind=kind, status=SyncRun.Status.SUCCEEDED).aggregate(
                last=Max("finished_at")
            )["last"]
            since = last or conn.created_at
            if now - since > 2 * every:
                found.append(
                    Finding(
                        AlertKind.SYNC_STALE,
                        f"sync:{conn.code}:{kind}",
                        f"{conn.label}: {kind} sync has not succeeded since {since:%Y-%m-%d %H:%M} UTC",
                        f"It runs every {_span(every)}; see the failed runs on the connection page.",
                        _connection_path(conn),
                    )
                )
    return found


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} hours" if hours < 48 else f"{hours / 24:g} days"


def money_trouble(workspace, config, now) -> list[Finding]:
    found = []
    late = timezone.localdate(now) - timedelta(days=config.settlement_overdue_days)
    overdue = Settlement.objects.filter(
        workspace=workspace, status=Settlement.Status.EXPECTED, expected_on__lt=late
    ).select_related("connection")
    for s in overdue:
        found.append(
            Finding(
                AlertKind.SETTLEMENT_OVERDUE,
                f"settlement:{s.code}",
                f"{s.connection.label}: the settlement expected on {s.expected_on} has not arrived",
                f"{s.expected_amount} {s.currency} expected; mark it received when it comes, or ask the network.",
                reverse("payments:settlement", kwargs={"code": s.code}),
            )
        )
    returned = Payment.objects.filter(
        workspace=workspace, status=Payment.Status.RETURNED, retried_by__isnull=True
    ).select_related("member")
    for p in returned:
        found.append(
            Finding(
                AlertKind.PAYMENT_RETURNED,
                f"payment:{p.code}",
                f"A payment of {p.amount} {p.currency} to {p.member.name} was returned",
                (p.status_message or "Returned by the rail").rstrip(". ") + ". Fix the payout details and retry it.",
                reverse("payments:statement", kwargs={"code": p.member.code}),
            )
        )
    return found


def broken_links(workspace) -> list[Finding]:
    found = []
    for offer in active_offers(workspace.id):
        broken = [c for c in latest_checks(offer) if not c.ok]
        if broken:
            found.append(
                Finding(
                    AlertKind.LINK_BROKEN,
                    f"offer:{offer.code}",
                    f"{offer.name}: the offer link is broken",
                    broken[0].problem,
                    reverse("tracking:offer_detail", kwargs={"code": offer.code}) + "#link-health",
                )
            )
    return found


def apply_findings(*, workspace, findings, config, now) -> tuple[int, int]:
    current = {(f.kind, f.key): f for f in findings}
    opened, closed = [], 0
    with transaction.atomic():
        open_alerts = {
            (a.kind, a.key): a for a in Alert.objects.select_for_update().filter(workspace=workspace, closed_at=None)
        }
        for key, finding in current.items():
            alert = open_alerts.get(key)
            if alert is not None:
                Alert.objects.filter(pk=alert.pk).update(last_seen_at=now, title=finding.title, detail=finding.detail)
                continue
            try:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        workspace=workspace,
                        kind=finding.kind,
                        key=finding.key,
                        title=finding.title[:200],
                        detail=finding.detail[:1000],
                        path=finding.path,
                        opened_at=now,
                        last_seen_at=now,
                    )
            except IntegrityError:
                continue  # another evaluation opened it a moment ago
            _announce(alert)
            opened.append(alert)
        stale = [a.pk for key, a in open_alerts.items() if key not in current]
        closed = Alert.objects.filter(pk__in=stale, closed_at=None).update(closed_at=now)
        if opened and config.email_owners:
            transaction.on_commit(lambda: _email_owners(workspace, opened))
    return len(opened), closed


def _announce(alert: Alert) -> None:
    publish(
        workspace=alert.workspace,
        topic="alert.opened",
        subject=f"alert:{alert.code}",
        data={
            "id": str(alert.code),
            "kind": alert.kind,
            "title": alert.title,
            "detail": alert.detail,
            "url": settings.SITE_URL + alert.path if alert.path else "",
            "opened_at": alert.opened_at.isoformat(),
        },
    )


def _email_owners(workspace, alerts) -> None:
    owners = Membership.objects.filter(workspace=workspace, role=Role.OWNER).select_related("user")
    emails = [m.user.email for m in owners if m.user.email]
    if emails:
        ctx = {
            "workspace": workspace,
            "alerts": alerts,
            "site_url": settings.SITE_URL,
            "page": reverse("outbound:alerts"),
        }
        send_templated("outbound-alert", emails, ctx)
