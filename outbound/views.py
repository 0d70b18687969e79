"""Webhook settings, delivery logs, member postbacks (brand side) and alerts."""

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from outbound import selectors, services
from outbound.forms import RotateSecretForm, WebhookForm
from outbound.models import TOPICS, Delivery, WebhookEndpoint
from outbound.services.webhooks import UrlRefused
from workspaces.access import get_for_request, require_right
from workspaces.csv_export import stream_csv
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError


def _endpoint(request, code, *, write=False) -> WebhookEndpoint:
    return get_for_request(request, WebhookEndpoint, code=code, right="admin" if write else None)


def _delivery(request, code) -> Delivery:
    return get_for_request(request, Delivery.objects.select_related("endpoint", "postback__member"), code=code)


def _deliveries_page(request, qs):
    return Paginator(qs, 50).get_page(request.GET.get("page"))


@workspace_view()
def webhook_list(request):
    endpoints = selectors.list_endpoints(workspace=request.workspace)
    return render(request, "outbound/webhook_list.html", {"endpoints": endpoints, "form": WebhookForm()})


@workspace_view("admin")
def new_webhook(request):
    form = WebhookForm(request.POST or None, initial={"topics": list(TOPICS)[:3]})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.create_endpoint(
                workspace=request.workspace, created_by=request.user, **form.cleaned_data
            )
        except DomainError as e:
            form.add_error("url" if isinstance(e, UrlRefused) else None, e.message)
        else:
            return render(request, "outbound/webhook_secret.html", {"endpoint": endpoint, "secret": secret})
    return render(request, "outbound/webhook_form.html", {"form": form})


@workspace_view()
def webhook_detail(request, code):
    endpoint = _endpoint(request, code)
    status = request.GET.get("status", "")
    deliveries = selectors.list_deliveries(workspace=request.workspace, endpoint=endpoint, status=status)
    form = WebhookForm(initial={"url": endpoint.url, "description": endpoint.description, "topics": endpoint.topics})
    ctx = {
        "endpoint": endpoint,
        "form": form,
        "rotate_form": RotateSecretForm(),
        "page": _deliveries_page(request, deliveries),
        "status": status,
        "statuses": Delivery.Status.choices,
        "now": timezone.now(),
    }
    return render(request, "outbound/webhook_detail.html", ctx)


@workspace_view()
def webhook_deliveries_csv(request, code):
    endpoint = _endpoint(request, code)
    deliveries = selectors.list_deliveries(
        workspace=request.workspace, endpoint=endpoint, status=request.GET.get("status", "")
    )
    rows = selectors.delivery_csv_rows(deliveries)
    return stream_csv("webhook-deliveries.csv", selectors.DELIVERY_CSV_HEADER, rows)


@workspace_view("admin")
def edit_webhook(request, code):
    endpoint = _endpoint(request, code, write=True)
    initial = {"url": endpoint.url, "description": endpoint.description, "topics": endpoint.topics}
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_endpoint(endpoint=endpoint, **form.cleaned_data)
        except DomainError as e:
            form.add_error("url" if isinstance(e, UrlRefused) else None, e.message)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("outbound:webhook_detail", code=endpoint.code)
    return render(request, "outbound/webhook_form.html", {"form": form, "endpoint": endpoint})


@workspace_view("admin")
@require_POST
def rotate_webhook_secret(request, code):
    endpoint = _endpoint(request, code, write=True)
    form = RotateSecretForm(request.POST)
    hours = form.cleaned_data["overlap_hours"] if form.is_valid() else 24
    secret = services.rotate_secret(endpoint=endpoint, overlap=timedelta(hours=hours))
    endpoint.refresh_from_db()
    ctx = {"endpoint": endpoint, "secret": secret, "rotated": True, "overlap_hours": hours}
    return render(request, "outbound/webhook_secret.html", ctx)


@workspace_view("admin")
@require_POST
def test_webhook(request, code):
    endpoint = _endpoint(request, code, write=True)
    try:
        services.send_test_event(endpoint=endpoint)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "Test event queued; it appears in the log below within seconds.")
    return redirect("outbound:webhook_detail", code=endpoint.code)


@workspace_view("admin")
@require_POST
def enable_webhook(request, code):
    endpoint = _endpoint(request, code, write=True)
    services.enable_target(target=endpoint)
    messages.success(request, "Endpoint enabled; pending deliveries are being sent.")
    return redirect("outbound:webhook_detail", code=endpoint.code)


@workspace_view("admin")
@require_POST
def disable_webhook(request, code):
    endpoint = _endpoint(request, code, write=True)
    services.disable_endpoint(endpoint=endpoint, actor=request.user.email)
    messages.success(request, "Endpoint disabled. New events are not queued for it until you enable it.")
    return redirect("outbound:webhook_detail", code=endpoint.code)


@workspace_view("admin")
@require_POST
def delete_webhook(request, code):
    endpoint = _endpoint(request, code, write=True)
    services.delete_endpoint(endpoint=endpoint)
    messages.success(request, f"Removed the endpoint {endpoint.url}.")
    return redirect("outbound:webhook_list")


@workspace_view()
def delivery_detail(request, code):
    delivery = _delivery(request, code)
    ctx = {"delivery": delivery, "attempts": delivery.attempt_log.order_by("-created_at"), "back": _back(delivery)}
    return render(request, "outbound/delivery_detail.html", ctx)


@workspace_view()
@require_POST
def resend_delivery(request, code):
    delivery = _delivery(request, code)
    # Webhooks are the owner's; a member's postbacks are managed by whoever manages members.
    require_right(request.membership, "admin" if delivery.endpoint_id else "manage")
    try:
        services.resend_delivery(delivery=delivery)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "Queued again, after what is already waiting for this URL.")
    return redirect(_back(delivery))


def _back(delivery: Delivery) -> str:
    if delivery.endpoint_id:
        return reverse("outbound:webhook_detail", kwargs={"code": delivery.endpoint.code})
    return reverse("outbound:member_postbacks", kwargs={"code": delivery.postback.member.code})
