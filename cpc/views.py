"""The paid clicks page: click rates (offer-wide and per member) and the "Payable clicks" report."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cpc import forms, services
from cpc.models import ClickRate, PaidClickDay
from workspaces import access
from workspaces.csv_export import stream_csv
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError

CSV_HEADER = [
    "day",
    "member",
    "affiliate_id",
    "offer",
    "counted_clicks",
    "paid_clicks",
    "daily_cap",
    "rate",
    "amount",
    "currency",
]


def _page(request, rate_form=None, status=200):
    days = forms.DaysForm(request.GET)
    rows = PaidClickDay.objects.none()
    if days.is_valid():
        rows = PaidClickDay.objects.filter(
            workspace=request.workspace, day__gte=days.cleaned_data["start"], day__lte=days.cleaned_data["end"]
        ).select_related("member", "offer")
    if request.GET.get("format") == "csv" and days.is_valid():
        lines = (
            [
                r.day,
                r.member.name,
                r.member.affiliate_id,
                r.offer.name,
                r.counted_clicks,
                r.paid_clicks,
                r.daily_cap,
                r.rate,
                r.amount,
                r.currency,
            ]
            for r in rows.order_by("day", "member__name", "offer__name").iterator(chunk_size=1000)
        )
        return stream_csv(
            f"payable-clicks-{days.cleaned_data['start']}-{days.cleaned_data['end']}.csv", CSV_HEADER, lines
        )
    ctx = {
        "rates": ClickRate.objects.filter(workspace=request.workspace)
        .select_related("offer", "member")
        .order_by("offer__name", "member__name"),
        "rate_form": rate_form or forms.ClickRateForm(workspace=request.workspace),
        "days": days,
        "rows": rows.order_by("-day", "member__name", "offer__name")[:500],
        "can_manage": bool(request.membership and request.membership.can("manage")),
        "query": request.GET.urlencode(),
    }
    return render(request, "cpc/paid_clicks.html", ctx, status=status)


@workspace_view()
def paid_clicks(request):
    return _page(request)


@workspace_view("manage")
@require_POST
def set_click_rate(request):
    form = forms.ClickRateForm(request.POST, workspace=request.workspace)
    if form.is_valid():
        try:
            services.set_click_rate(**form.cleaned_data)
        except DomainError as e:
            form.add_error("rate", e.message)
        else:
            messages.success(request, "Click rate saved. It applies from the next day posted.")
            return redirect("cpc:paid_clicks")
    return _page(request, rate_form=form, status=400)


@workspace_view("manage")
@require_POST
def remove_click_rate(request, code):
    rate = access.get_for_request(request, ClickRate, code=code, right="manage")
    services.remove_click_rate(click_rate=rate)
    messages.success(request, "Click rate removed. Days already posted stay posted.")
    return redirect("cpc:paid_clicks")
