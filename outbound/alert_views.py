"""Alerts and their thresholds; the offer page's "check the link now"."""

from datetime import timedelta

from django.contrib import messages
from django.forms.models import model_to_dict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from offers.access import get_offer
from outbound.forms import AlertSettingsForm
from outbound.models import Alert
from outbound.services import alerts as alert_services
from workspaces.decorators import workspace_view


@workspace_view()
def alert_list(request):
    config = alert_services.settings_for(request.workspace)
    form = AlertSettingsForm(initial=model_to_dict(config))
    return _render(request, form)


def _shown(value) -> str:
    return {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def _render(request, form):
    alerts = Alert.objects.filter(workspace=request.workspace)
    ctx = {
        "form": form,
        "open_alerts": alerts.filter(closed_at=None).order_by("-opened_at"),
        "readonly": [(f.label, _shown(f.initial if f.initial is not None else f.value())) for f in form],
        "closed_alerts": alerts.filter(closed_at__gte=timezone.now() - timedelta(days=30)).order_by("-closed_at")[:50],
    }
    return render(request, "outbound/alert_list.html", ctx)


@workspace_view("admin")
@require_POST
def update_alert_settings(request):
    form = AlertSettingsForm(request.POST)
    if not form.is_valid():
        return _render(request, form)
    alert_services.update_alert_settings(workspace=request.workspace, **form.cleaned_data)
    messages.success(request, "Thresholds saved; they apply from the next check (every 15 minutes).")
    return redirect("outbound:alerts")


@workspace_view("manage")
@require_POST
def check_offer_links(request, code):
    from outbound.tasks import check_offer_links as check_offer_links_task

    offer = get_offer(request, code, write=True)
    check_offer_links_task.delay(offer.pk)
    messages.success(request, "Checking the offer's links now; reload in a minute for the result.")
    return redirect(reverse("tracking:offer_detail", kwargs={"code": offer.code}) + "#link-health")
