"""Conversions and the postback log, for brand managers; the offer and member pages with their clicks
and earnings (offers' objects, shown here because tracking reads offers, never the other way round);
the offer page's postback panel."""

import json

import redis
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from offers import forms as offer_forms
from offers import selectors as offer_selectors
from offers import services as offer_services
from offers.access import get_member, get_offer
from offers.models import Offer
from tracking import selectors
from tracking.access import get_conversion, get_postback
from tracking.click_lookup import find_click
from tracking.forms import BulkStatusForm, ConversionFilterForm, PostbackFilterForm, ReattributeForm, StatusChangeForm
from tracking.models import PostbackLog
from tracking.services import (
    change_conversion_status,
    change_conversions_status,
    reattribute_conversion,
    recompute_member_payout,
    replays,
)
from workspaces.csv_export import stream_csv
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError

PAGE_SIZE = 50
CSV_COLUMNS = [
    "event_at",
    "conversion",
    "status",
    "source",
    "network",
    "transaction_id",
    "external_id",
    "member",
    "affiliate_id",
    "offer",
    "currency",
    "sale_amount",
    "network_payout",
    "member_payout",
    "affiliate_mismatch",
    "locking_at",
    "recorded_at",
]


def _can_manage(request) -> bool:
    return bool(request.membership and request.membership.can("manage"))


def _actor(request) -> str:
    return request.user.get_username()


def _querystring(request, drop=("page",)) -> str:
    params = request.GET.copy()
    for key in drop:
        params.pop(key, None)
    return params.urlencode()


@workspace_view()
def conversion_list(request):
    form = ConversionFilterForm(request.GET or None, workspace=request.workspace)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.list_conversions(workspace=request.workspace, filters=filters)
    days = selectors.conversions_by_day(qs)
    chart = {
        "type": "bar",
        "data": {
            "labels": [d.strftime("%b %d") for d, _ in days],
            "datasets": [{"label": "Conversions", "data": [n for _, n in days]}],
        },
        "options": {"plugins": {"legend": {"display": False}}, "scales": {"y": {"beginAtZero": True}}},
    }
    ctx = {
        "form": form,
        "page": Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page")),
        "totals": selectors.conversion_totals(qs, status=(filters or {}).get("status") or ""),
        "status_filter": (filters or {}).get("status") or "",
        "can_manage": _can_manage(request),
        "chart": json.dumps(chart) if any(n for _, n in days) else "",
        "querystring": _querystring(request),
        "filtered": bool(filters and any(filters.values())),
    }
    return render(request, "tracking/conversion_list.html", ctx)


def _csv_row(c) -> list:
    return [
        c.event_at,
        c.code,
        c.status,
        c.source,
        c.network,
        c.transaction_id,
        c.external_id,
        c.member.name if c.member else "",
        c.member.affiliate_id if c.member else "",
        c.offer.name if c.offer else "",
        c.currency,
        c.sale_amount,
        c.network_payout,
        c.member_payout,
        "yes" if c.affiliate_mismatch else "",
        c.locking_at,
        c.created_at,
    ]


@workspace_view()
def export_conversions(request):
    form = ConversionFilterForm(request.GET or None, workspace=request.workspace)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.list_conversions(workspace=request.workspace, filters=filters)
    rows = (_csv_row(conversion) for conversion in qs.iterator(chunk_size=2000))
    return stream_csv(f"conversions-{timezone.localdate().isoformat()}.csv", CSV_COLUMNS, rows)


@workspace_view()
def conversion_detail(request, code):
    conversion = get_conversion(request, code)
    postbacks, changes = selectors.conversion_history(conversion)
    ctx = {
        "conversion": conversion,
        "click": conversion.click,
        "postbacks": postbacks,
        "changes": changes,
        "events": list(conversion.events.order_by("id")),
        "basis": conversion.payout_basis,
        # A conversion priced line by line (its items and the offer's payout rules).
        "item_lines": conversion.payout_basis.get("items") or [],
        "item_rest": conversion.payout_basis.get("rest") or {},
        "can_manage": _can_manage(request),
        "reattribute_form": ReattributeForm(workspace=request.workspace),
    }
    return render(request, "tracking/conversion_detail.html", ctx)


def _change_status(request, code, status):
    conversion = get_conversion(request, code, write=True)
    form = StatusChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The reason is too long (500 characters at most).")
        return redirect("tracking:conversion_detail", code=conversion.code)
    try:
        change_conversion_status(
            conversion=conversion, status=status, reason=form.cleaned_data["reason"], actor=_actor(request)
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Conversion {status}.")
    return redirect("tracking:conversion_detail", code=conversion.code)


@workspace_view("manage")
@require_POST
def approve_conversion(request, code):
    return _change_status(request, code, "approved")


@workspace_view("manage")
@require_POST
def reject_conversion(request, code):
    return _change_status(request, code, "rejected")


@workspace_view("manage")
@require_POST
def bulk_change_status(request):
    """Approve or reject the conversions ticked on the list."""
    form = BulkStatusForm(request.POST)
    back = request.POST.get("next", "")
    back = back if back.startswith("/conversions/") and "//" not in back else reverse("tracking:conversion_list")
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
        return redirect(back)
    status = form.cleaned_data["status"]
    try:
        changed, problems = change_conversions_status(
            workspace=request.workspace,
            codes=form.cleaned_data["codes"],
            status=status,
            reason=form.cleaned_data["reason"],
            actor=_actor(request),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if changed:
        messages.success(request, f"{changed} conversion{'' if changed == 1 else 's'} {status}.")
    if problems:
        messages.warning(request, "Not changed: " + "; ".join(problems[:10]))
    if not changed and not problems:
        messages.error(request, "Tick the conversions to change first.")
    return redirect(back)


@workspace_view("manage")
@require_POST
def recompute_payout(request, code):
    conversion = get_conversion(request, code, write=True)
    before = conversion.member_payout
    conversion = recompute_member_payout(conversion=conversion, actor=_actor(request))
    if conversion.member_payout == before:
        messages.success(request, f"Payout unchanged: {conversion.member_payout} {conversion.currency}.")
    else:
        messages.success(request, f"Payout recomputed: {before} → {conversion.member_payout} {conversion.currency}.")
    return redirect("tracking:conversion_detail", code=conversion.code)


@workspace_view("manage")
@require_POST
def reattribute(request, code):
    conversion = get_conversion(request, code, write=True)
    form = ReattributeForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("tracking:conversion_detail", code=conversion.code)
    click = None
    if form.cleaned_data["transaction_id"]:
        try:
            click = find_click(workspace=request.workspace, transaction_id=form.cleaned_data["transaction_id"])
        except redis.RedisError:
            messages.error(request, "Clicks waiting in the click buffer cannot be read right now; try again shortly.")
            return redirect("tracking:conversion_detail", code=conversion.code)
        if click is None:
            messages.error(request, "No click with that transaction id in this workspace.")
            return redirect("tracking:conversion_detail", code=conversion.code)
    try:
        reattribute_conversion(
            conversion=conversion, click=click, member=form.cleaned_data["member"], actor=_actor(request)
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Conversion re-attributed and its payout recomputed.")
    return redirect("tracking:conversion_detail", code=conversion.code)


@workspace_view()
def postback_list(request):
    form = PostbackFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.list_postbacks(workspace=request.workspace, filters=filters)
    counts = selectors.postback_outcome_counts(workspace=request.workspace)
    ctx = {
        "form": form,
        "page": Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page")),
        "outcome_stats": [(value, label, counts.get(value, 0)) for value, label in PostbackLog.Outcome.choices],
        "querystring": _querystring(request),
        "filtered": bool(filters and any(filters.values())),
        "connections": request.workspace.connections.order_by("label"),
    }
    return render(request, "tracking/postback_list.html", ctx)


@workspace_view()
def postback_detail(request, code):
    log = get_postback(request, code)
    ctx = {
        "log": log,
        "params": json.dumps(log.params, indent=2, ensure_ascii=False),
        "replays": list(log.replays.order_by("received_at")),
        "can_manage": _can_manage(request),
    }
    return render(request, "tracking/postback_detail.html", ctx)


@workspace_view("manage")
@require_POST
def replay_postback(request, code):
    log = get_postback(request, code, write=True)
    try:
        received = replays.replay_postback(log=log)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("tracking:postback_detail", code=log.code)
    messages.success(request, f"Replayed: {received.answer}.")
    return redirect("tracking:postback_detail", code=received.log.code)


def _panel(request, offer, result=None, error=""):
    ctx = {"offer": offer, "can_manage": _can_manage(request), "test_result": result, "test_error": error}
    return render(request, "tracking/offer_postback_panel.html", ctx)


@workspace_view()
def offer_postback_panel(request, code):
    return _panel(request, get_offer(request, code))


@workspace_view("manage")
@require_POST
def send_test_conversion(request, code):
    offer = get_offer(request, code, write=True)
    try:
        result = replays.send_test_conversion(offer=offer)
    except DomainError as exc:
        if request.headers.get("HX-Request"):
            return _panel(request, offer, error=exc.message)
        messages.error(request, exc.message)
        return redirect(reverse("tracking:offer_detail", kwargs={"code": offer.code}) + "#postback-panel")
    if request.headers.get("HX-Request"):
        return _panel(request, offer, result=result)
    messages.success(request, f"Test conversion sent (transaction {result.transaction_id}): {result.received.answer}.")
    return redirect(reverse("tracking:offer_detail", kwargs={"code": offer.code}) + "#postback-panel")


# --- The offer and member pages ---------------------------------------------------


@workspace_view()
def member_detail(request, code):
    member = get_member(request, code)
    series = selectors.clicks_per_day(member=member, days=30)
    ctx = {
        "member": member,
        "links": offer_selectors.list_links(workspace=request.workspace, member=member)[:100],
        "series": series,
        "chart": json.dumps(selectors.clicks_chart(series)),
        "recent_clicks": selectors.recent_clicks(member=member),
        "earnings": selectors.member_earnings(member=member),
        "offers": Offer.objects.filter(workspace=request.workspace, archived_at=None).order_by("name"),
        "can_manage": _can_manage(request),
        "promo_codes": member.promo_codes.select_related("offer").order_by("key"),
        "promo_form": offer_forms.PromoCodeForm(workspace=request.workspace),
    }
    return render(request, "tracking/member_detail.html", ctx)


@workspace_view()
def offer_detail(request, code):
    offer = get_offer(request, code)
    series = selectors.clicks_per_day(offer=offer, days=30)
    links = offer_selectors.list_links(workspace=request.workspace, offer=offer)
    ctx = {
        "offer": offer,
        "links": links[:100],
        "link_count": links.count(),
        "series": series,
        "chart": json.dumps(selectors.clicks_chart(series)),
        "overrides": offer_selectors.list_overrides(offer=offer),
        "override_form": offer_forms.PayoutOverrideForm(workspace=request.workspace),
        "preview": _safe_preview(offer),
        "can_manage": _can_manage(request),
        "payout_rules": offer.payout_rules.order_by("position", "id"),
        "rule_form": offer_forms.PayoutRuleForm(),
    }
    return render(request, "tracking/offer_detail.html", ctx)


def _safe_preview(offer) -> str:
    try:
        return offer_services.preview_destination(offer=offer)
    except DomainError:
        return ""
