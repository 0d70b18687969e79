"""Tracking domains on the Settings page, and the question a TLS proxy asks before issuing a certificate."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from workspaces import domains
from workspaces.access import get_for_request
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError
from workspaces.models import TrackingDomain


class DomainForm(forms.Form):
    host = forms.CharField(max_length=300, label="Domain", help_text="A host name such as go.brand.com.")


def _domain(request, code):
    return get_for_request(request, TrackingDomain, code=code, right="admin")


@workspace_view("admin")
@require_POST
def add_domain(request):
    form = DomainForm(request.POST)
    if form.is_valid():
        try:
            domain = domains.add_tracking_domain(workspace=request.workspace, host=form.cleaned_data["host"])
        except DomainError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"Added {domain.host}. Publish its TXT record, then verify it.")
    else:
        messages.error(request, "Enter a domain.")
    return redirect("/settings/#domains")


@workspace_view("admin")
@require_POST
def verify_domain(request, code):
    domain = _domain(request, code)
    if domains.verify_tracking_domain(domain=domain):
        messages.success(request, f"{domain.host} is verified: it now serves this workspace's links.")
    else:
        messages.error(request, domain.check_message)
    return redirect("/settings/#domains")


@workspace_view("admin")
@require_POST
def make_primary_domain(request, code):
    domain = _domain(request, code)
    try:
        domains.make_primary(domain=domain)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"Links are now shown with {domain.host}.")
    return redirect("/settings/#domains")


@workspace_view("admin")
@require_POST
def remove_domain(request, code):
    domain = _domain(request, code)
    domains.remove_tracking_domain(domain=domain)
    messages.success(request, f"Removed {domain.host}. Links shared with it no longer work.")
    return redirect("/settings/#domains")


@never_cache
@require_safe
def tls_ask(request):
    """200 when the hub serves ``?domain=`` (a verified tracking domain), else 404: Caddy's on-demand TLS ``ask``."""
    if domains.domain_is_served(request.GET.get("domain", "")):
        return HttpResponse("ok", content_type="text/plain")
    return HttpResponse("not served here", status=404, content_type="text/plain")
