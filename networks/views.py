import json

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from networks import selectors, services
from networks.forms import ConnectionForm, SyncNowForm
from networks.models import NetworkConnection, SyncRun, kind_label
from offers.access import get_connection
from offers.models import NetworkKind
from workspaces.access import get_for_request
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError
from workspaces.public_paths import pixel_path, postback_path


def _get_connection(request, code, *, write=False) -> NetworkConnection:
    return get_connection(request, code, write=write)


def _can_manage(request) -> bool:
    return request.membership is not None and request.membership.can("manage")


@workspace_view()
def network_list(request):
    ctx = {
        "rows": selectors.list_connections(workspace=request.workspace),
        "runs": selectors.recent_runs(workspace=request.workspace),
        "can_manage": _can_manage(request),
    }
    return render(request, "networks/list.html", ctx)


@workspace_view("manage")
def add_connection(request):
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            conn = services.save_connection(workspace=request.workspace, data=form.cleaned_data)
        except DomainError as e:
            form.add_error(getattr(e, "field", None), e.message)
        else:
            messages.success(request, f"Connected {conn.label}.")
            _warn(request, conn)
            return redirect("networks:detail", code=conn.code)
    return render(request, "networks/form.html", {"form": form, "connection": None}, status=_status(form))


@workspace_view("manage")
def edit_connection(request, code):
    conn = _get_connection(request, code, write=True)
    initial = {
        "kind": conn.kind,
        "label": conn.label,
        "currency": conn.currency,
        "settlement_day": conn.settlement_day,
        "ip_allowlist": conn.ip_allowlist,
        "basic_auth_username": conn.basic_auth_username,
        "account_sid": conn.account_sid if conn.kind == NetworkKind.IMPACT else "",
        "shareasale_affiliate_id": conn.account_sid if conn.kind == NetworkKind.SHAREASALE else "",
        "awin_publisher_id": conn.account_sid if conn.kind == NetworkKind.AWIN else "",
        "timezone": conn.timezone,
        "sync_enabled": conn.sync_enabled,
    }
    form = ConnectionForm(request.POST or None, initial=initial, connection=conn)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_connection(workspace=request.workspace, data=form.cleaned_data, connection=conn)
        except DomainError as e:
            conn.refresh_from_db()
            form.add_error(getattr(e, "field", None), e.message)
        else:
            messages.success(request, f"Saved {conn.label}.")
            _warn(request, conn)
            return redirect("networks:detail", code=conn.code)
    return render(request, "networks/form.html", {"form": form, "connection": conn}, status=_status(form))


def _warn(request, conn) -> None:
    # Saved, but Impact refused some endpoints to this token: say which, and what follows.
    if conn.status == NetworkConnection.Status.ACTIVE and conn.status_message:
        messages.warning(request, conn.status_message)


def _status(form) -> int:
    return 400 if form.is_bound and form.errors else 200


@workspace_view()
def connection_detail(request, code):
    conn = _get_connection(request, code)
    comparison = selectors.click_comparison(workspace=request.workspace, connection=conn)
    ctx = {
        "connection": conn,
        "postback_url": settings.SITE_URL + postback_path(conn.kind, conn.postback_secret),
        "pixel_url": settings.SITE_URL + pixel_path(conn.postback_secret),
        "runs": selectors.recent_runs(workspace=request.workspace, connection=conn, limit=15),
        "rows": [r for r in selectors.list_connections(workspace=request.workspace) if r["connection"].id == conn.id],
        "comparison": comparison,
        "chart": _click_chart(comparison),
        "exports": selectors.recent_exports(workspace=request.workspace, connection=conn),
        "payouts": selectors.recent_payouts(workspace=request.workspace, connection=conn),
        "can_manage": _can_manage(request),
    }
    return render(request, "networks/detail.html", ctx)


def _click_chart(comparison) -> str:
    if not comparison:
        return ""
    days = list(reversed(comparison))
    config = {
        "type": "line",
        "data": {
            "labels": [d["date"].isoformat() for d in days],
            "datasets": [
                {"label": "Clicks Impact counted", "data": [d["network_clicks"] for d in days]},
                {"label": "Our clicks", "data": [d["our_clicks"] for d in days]},
            ],
        },
        "options": {"spanGaps": False},
    }
    return json.dumps(config)


@workspace_view("manage")
@require_POST
def rotate_secret(request, code):
    conn = _get_connection(request, code, write=True)
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the confirmation: the old postback URL stops working at once.")
        return redirect("networks:detail", code=conn.code)
    services.rotate_postback_secret(connection=conn)
    messages.success(request, "New postback secret created. Update the postback URL in the network now.")
    return redirect("networks:detail", code=conn.code)


@workspace_view("manage")
def sync_now(request, code, kind):
    conn = _get_connection(request, code, write=True)
    adapter = services.adapter_for(conn)
    if adapter is None or kind not in adapter.kinds:
        messages.error(request, "This connection has no such sync.")
        return redirect("networks:list")
    form = SyncNowForm(request.POST if request.method == "POST" else None, kind=kind, adapter=adapter)
    label = kind_label(conn.kind, kind)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.request_sync(
                connection=conn, kind=kind, trigger=SyncRun.Trigger.MANUAL, since=form.cleaned_data.get("since")
            )
        except DomainError as e:
            messages.error(request, e.message)
        else:
            done = "resumed (its wait was over)" if run.retry_at else "started"
            messages.success(request, f"{label} sync of {conn.label} {done}.")
        back = request.POST.get("next", "")
        return redirect(back if back.startswith("/networks/") and "//" not in back else "networks:list")
    ctx = {"connection": conn, "kind": kind, "label": label, "form": form}
    return render(request, "networks/sync_form.html", ctx, status=_status(form))


@workspace_view()
def run_progress(request, code):
    run = get_for_request(request, SyncRun.objects.select_related("connection"), code=code)
    response = render(request, "networks/run_progress.html", {"run": run})
    if request.headers.get("HX-Request") and not run.is_active:
        # The run this bar was following has ended: reload the page, so its table, the sync's
        # last and next run and the connection's health all say the same as the bar.
        response["HX-Refresh"] = "true"
    return response
