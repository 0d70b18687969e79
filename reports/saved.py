"""Saved reports: a report and its filters under a name, shared or private, pinned, sent by email as CSV.

What a person sees: their own saved reports and those shared with the workspace. Only the
owner changes or deletes a saved report (a workspace admin may remove a shared one).
The filters are kept as the query string the report page had, so relative ranges
("last 30 days") move with time: a scheduled email always covers the range as of the
day it is sent. ``send_due_reports_all_workspaces`` (beat, daily) sends daily ones every
day and weekly ones on Mondays, each once a day whatever the retries.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from reports import attribution_specs, paths, specs
from reports.filters import ReportFilterForm
from reports.models import SavedReport
from reports.specs import Query, Report
from workspaces.csv_export import csv_bytes
from workspaces.errors import DomainError
from workspaces.models import Workspace

# The reports that can be saved, by their URL name (reports/urls.py).
REPORTS: dict[str, Report] = {
    "members": specs.BY_MEMBER,
    "offers": specs.BY_OFFER,
    "days": specs.BY_DAY,
    "channels": attribution_specs.BY_CHANNEL,
    "paths": paths.TOP_PATHS,
    "risk": specs.RISK,
    "off_state": specs.OFF_STATE,
    "network_clicks": specs.NETWORK_CLICKS,
    "postbacks": specs.POSTBACK_OUTCOMES,
}
MAX_SAVED = 200
NOT_QUERY = {"format", "csrfmiddlewaretoken"}


def visible_reports(*, workspace: Workspace, user):
    """The user's own saved reports and those shared with the workspace, by name."""
    return SavedReport.objects.filter(Q(owner=user) | Q(shared=True), workspace=workspace).order_by("name", "id")


def clean_query(query: str) -> str:
    data = QueryDict(query.lstrip("?"), mutable=True)
    for name in NOT_QUERY:
        data.pop(name, None)
    return data.urlencode()[:1000]


def save_report(
    *, workspace: Workspace, owner, name: str, report: str, query: str, shared=False, pinned=False, schedule=""
) -> SavedReport:
    if report not in REPORTS:
        raise DomainError("That report cannot be saved.")
    if not name.strip():
        raise DomainError("Give the report a name.")
    if schedule not in SavedReport.Schedule.values:
        raise DomainError("Choose daily, weekly or not sent.")
    if schedule and not owner.email:
        raise DomainError("Your account has no email address to send the report to.")
    if SavedReport.objects.filter(workspace=workspace).count() >= MAX_SAVED:
        raise DomainError(f"A workspace keeps at most {MAX_SAVED} saved reports; delete some first.")
    query = clean_query(query)
    if not ReportFilterForm(QueryDict(query), workspace=workspace).is_valid():
        raise DomainError("These filters are not valid any more; apply them again, then save.")
    return SavedReport.objects.create(
        workspace=workspace,
        owner=owner,
        name=name.strip()[:120],
        report=report,
        query=query,
        shared=shared,
        pinned=pinned,
        schedule=schedule,
    )


def may_change(saved: SavedReport, membership) -> bool:
    """The owner changes a saved report; an admin may also remove a shared one."""
    if membership is None:
        return False
    return saved.owner_id == membership.user_id or (saved.shared and membership.can("admin"))


def update_saved_report(*, saved: SavedReport, pinned: bool, shared: bool, schedule: str) -> SavedReport:
    if schedule not in SavedReport.Schedule.values:
        raise DomainError("Choose daily, weekly or not sent.")
    saved.pinned, saved.shared, saved.schedule = pinned, shared, schedule
    saved.save(update_fields=["pinned", "shared", "schedule"])
    return saved


def report_url(saved: SavedReport) -> str:
    url = reverse(f"reports:{saved.report}")
    return f"{url}?{saved.query}" if saved.query else url


def report_csv(saved: SavedReport) -> tuple[str, bytes]:
    """(file name, CSV bytes) of the saved report as of today, exactly as its Download CSV gives it."""
    report = REPORTS[saved.report]
    data = QueryDict(saved.query)
    form = ReportFilterForm(data, workspace=saved.workspace)
    if not form.is_valid():
        raise DomainError("The saved filters are no longer valid (an offer or member was removed).")
    f = form.filters()
    q = Query(saved.workspace, f, sort=report.sort(data.get("sort")))
    content = csv_bytes([header for header, _ in report.csv], report.csv_lines(q))
    return f"{report.slug}-{f.start.isoformat()}-{f.end.isoformat()}.csv", content


def is_due(saved: SavedReport, now) -> bool:
    today = timezone.localdate(now)
    if saved.last_sent_at is not None and timezone.localdate(saved.last_sent_at) >= today:
        return False
    if saved.schedule == SavedReport.Schedule.DAILY:
        return True
    return saved.schedule == SavedReport.Schedule.WEEKLY and today.weekday() == 0


def send_saved_report(*, saved: SavedReport, now=None) -> bool:
    """Email the report to its owner once today: claimed with a conditional update, then sent."""
    now = now or timezone.now()
    if not is_due(saved, now):
        return False
    claimed = SavedReport.objects.filter(pk=saved.pk, last_sent_at=saved.last_sent_at).update(last_sent_at=now)
    if claimed != 1:
        return False  # another worker sent it
    try:
        filename, content = report_csv(saved)
    except DomainError as exc:
        body = f"{saved.name} could not be built: {exc.message} Open it, apply the filters again and save it anew."
        EmailMessage(f"{saved.name}: not sent", body, to=[saved.owner.email]).send()
        return True
    link = settings.SITE_URL + report_url(saved)
    message = EmailMessage(
        subject=f"{saved.name} ({saved.workspace.name})",
        body=f"{saved.name}, as of {timezone.localdate(now).isoformat()}, is attached as CSV.\n\nOpen it: {link}\n",
        to=[saved.owner.email],
    )
    message.attach(filename, content, "text/csv")
    message.send()
    return True


def send_due_reports_all_workspaces(*, now=None) -> int:
    """Send every scheduled saved report that is due today; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for saved in SavedReport.objects.exclude(schedule="").select_related("workspace", "owner").order_by("id"):
        if send_saved_report(saved=saved, now=now):
            sent += 1
    return sent
