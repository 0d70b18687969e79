"""Saved reports: save the report on screen, list them, open, pin, schedule, delete."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from reports import saved as service
from reports.models import SavedReport
from workspaces.access import get_in_workspace
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError


class SaveForm(forms.Form):
    name = forms.CharField(max_length=120)
    report = forms.ChoiceField(choices=[(name, name) for name in service.REPORTS])
    query = forms.CharField(max_length=2000, required=False)
    shared = forms.BooleanField(required=False, label="Share with the workspace")
    pinned = forms.BooleanField(required=False, label="Pin to the navigation")
    schedule = forms.ChoiceField(choices=SavedReport.Schedule.choices, required=False, label="Email me the CSV")


class ChangeForm(forms.Form):
    shared = forms.BooleanField(required=False)
    pinned = forms.BooleanField(required=False)
    schedule = forms.ChoiceField(choices=SavedReport.Schedule.choices, required=False)


def _visible(request, code) -> SavedReport:
    return get_in_workspace(
        request.workspace, service.visible_reports(workspace=request.workspace, user=request.user), code=code
    )


def _changeable(request, code) -> SavedReport:
    saved = _visible(request, code)
    if not service.may_change(saved, request.membership):
        raise PermissionDenied("Only the person who saved this report can change it.")
    return saved


def _back(request):
    back = request.POST.get("back", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return redirect(back)
    return redirect("reports:saved")


@workspace_view()
@require_POST
def save_report(request):
    form = SaveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not saved: give the report a name.")
        return _back(request)
    try:
        saved = service.save_report(workspace=request.workspace, owner=request.user, **form.cleaned_data)
    except DomainError as e:
        messages.error(request, f"Not saved: {e.message}")
        return _back(request)
    messages.success(request, f"Saved as {saved.name}.")
    return redirect(service.report_url(saved))


@workspace_view()
def saved_list(request):
    rows = service.visible_reports(workspace=request.workspace, user=request.user).select_related("owner")
    items = [
        {
            "saved": s,
            "url": service.report_url(s),
            "title": service.REPORTS[s.report].title,
            "mine": service.may_change(s, request.membership),
        }
        for s in rows
        if s.report in service.REPORTS
    ]
    return render(request, "reports/saved_list.html", {"items": items, "schedules": SavedReport.Schedule.choices})


@workspace_view()
@require_POST
def change_saved_report(request, code):
    saved = _changeable(request, code)
    form = ChangeForm(request.POST)
    if form.is_valid():
        service.update_saved_report(saved=saved, **form.cleaned_data)
        messages.success(request, f"{saved.name} saved.")
    return redirect("reports:saved")


@workspace_view()
@require_POST
def delete_saved_report(request, code):
    saved = _changeable(request, code)
    saved.delete()
    messages.success(request, f"Deleted {saved.name}.")
    return redirect("reports:saved")
