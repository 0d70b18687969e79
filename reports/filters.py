"""The filters every report, the dashboard and the report API share.

``ReportFilterForm`` reads them from query parameters (codes resolved inside the
workspace: another workspace's code is "not found"); ``ReportFilters`` is the
checked result the selectors take.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

from django import forms
from django.http import Http404
from django.utils import timezone

from offers.models import Member, NetworkConnection, Offer, Project
from tracking.models import ConversionStatus
from workspaces.access import get_in_workspace
from workspaces.dates import FIRST_DAY, LAST_DAY, day_bounds
from workspaces.models import Workspace

# A conversion counts when its status is one of these, unless another status is chosen.
COUNTED_STATUSES = (ConversionStatus.PENDING.value, ConversionStatus.APPROVED.value)
MAX_RANGE_DAYS = 3 * 366

PRESETS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "mtd": "This month",
    "last_month": "Last month",
    "custom": "Custom",
}
STATUS_CHOICES = {
    "counted": "Pending + approved",
    "pending": "Pending",
    "approved": "Approved",
    "reversed": "Reversed",
    "rejected": "Rejected",
}


@dataclasses.dataclass(frozen=True)
class ReportFilters:
    start: date
    end: date  # inclusive
    currency: str
    offer: Offer | None = None
    member: Member | None = None
    project: Project | None = None
    connection: NetworkConnection | None = None
    status: str = "counted"
    preset: str = "30d"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def statuses(self) -> tuple[str, ...]:
        return COUNTED_STATUSES if self.status == "counted" else (self.status,)

    def previous(self) -> ReportFilters:
        """The period of equal length just before this one."""
        return dataclasses.replace(
            self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1), preset="custom"
        )

    def bounds(self) -> tuple[datetime, datetime]:
        """Aware datetimes [start of start, start of the day after end) in the display time zone."""
        return day_bounds(self.start, self.end)

    def lookups(self, *, project: str = "project", connection: str = "connection") -> dict:
        """The chosen offer, member, project and network as filter arguments, under the fields
        that name the project and the network in the rows filtered."""
        chosen = {"offer": self.offer, "member": self.member, project: self.project, connection: self.connection}
        return {field: obj for field, obj in chosen.items() if obj is not None}

    def as_query(self) -> dict[str, str]:
        """The filters as query parameters (for links to CSV and sorted views)."""
        q = {"start": self.start.isoformat(), "end": self.end.isoformat(), "preset": self.preset}
        if self.status != "counted":
            q["status"] = self.status
        for name, obj in (
            ("offer", self.offer),
            ("member", self.member),
            ("project", self.project),
            ("network", self.connection),
        ):
            if obj is not None:
                q[name] = str(obj.code)
        return q


def preset_range(preset: str, today: date) -> tuple[date, date]:
    if preset == "7d":
        return today - timedelta(days=6), today
    if preset == "90d":
        return today - timedelta(days=89), today
    if preset == "mtd":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    return today - timedelta(days=29), today


class PeriodForm(forms.Form):
    """A range of days picked by preset (default the last 30 days) or by two dates (inclusive).

    The report filters and the per-row figures of the Members and Links lists read the range this way.
    """

    preset = forms.ChoiceField(choices=list(PRESETS.items()), required=False)
    start = forms.DateField(required=False, help_text="YYYY-MM-DD, inclusive")
    end = forms.DateField(required=False, help_text="YYYY-MM-DD, inclusive")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        today = timezone.localdate()
        preset = data.get("preset") or ""
        start, end = data.get("start"), data.get("end")
        if preset and preset != "custom":
            start, end = preset_range(preset, today)
        elif start or end:
            preset = "custom"
            end = end or today
            start = start or end - timedelta(days=29)
        else:
            preset = "30d"
            start, end = preset_range(preset, today)
        for name, value in (("start", start), ("end", end)):
            if not (FIRST_DAY <= value <= LAST_DAY):
                raise forms.ValidationError({name: f"Choose a day between {FIRST_DAY} and {LAST_DAY}."})
        if start > end:
            raise forms.ValidationError({"start": "The start date must not be after the end date."})
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise forms.ValidationError({"start": f"Choose a range of at most {MAX_RANGE_DAYS} days."})
        data.update(preset=preset, start=start, end=end)
        return data


class ReportFilterForm(PeriodForm):
    """The filter bar of every report page and the query parameters of the report API."""

    offer = forms.UUIDField(required=False)
    member = forms.UUIDField(required=False)
    project = forms.UUIDField(required=False)
    network = forms.UUIDField(required=False)
    status = forms.ChoiceField(choices=list(STATUS_CHOICES.items()), required=False)
    currency = forms.RegexField(regex=r"^[A-Z]{3}$", required=False, error_messages={"invalid": "Use a 3-letter code."})

    def __init__(self, data, *, workspace: Workspace):
        super().__init__(data)
        self.workspace = workspace

    def _resolve(self, name: str, model):
        code = self.cleaned_data.get(name)
        if code is None:
            return None
        # Through the tenant gate: another workspace's code is just "not found".
        try:
            return get_in_workspace(self.workspace, model, code=code)
        except Http404:
            raise forms.ValidationError(f"No such {name} in this workspace.", code="not_found") from None

    def clean_offer(self):
        return self._resolve("offer", Offer)

    def clean_member(self):
        return self._resolve("member", Member)

    def clean_project(self):
        return self._resolve("project", Project)

    def clean_network(self):
        return self._resolve("network", NetworkConnection)

    def filters(self) -> ReportFilters:
        d = self.cleaned_data
        return ReportFilters(
            start=d["start"],
            end=d["end"],
            preset=d["preset"],
            currency=d.get("currency") or self.workspace.currency,
            offer=d.get("offer"),
            member=d.get("member"),
            project=d.get("project"),
            connection=d.get("network"),
            status=d.get("status") or "counted",
        )


def default_filters(workspace: Workspace) -> ReportFilters:
    form = ReportFilterForm({}, workspace=workspace)
    form.is_valid()
    return form.filters()
