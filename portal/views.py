"""The member portal's pages. Each starts from ``request.portal`` (portal/access.py)."""

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal import access, forms, selectors, services
from portal.access import portal_view
from workspaces.errors import DomainError


def _safe_next(request, fallback="portal:home"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/portal/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def sign_in(request):
    form = forms.SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.request_sign_in(email=form.cleaned_data["email"])
        return render(request, "portal/sign_in_sent.html", {"email": form.cleaned_data["email"]})
    return render(request, "portal/sign_in.html", {"form": form}, status=400 if form.errors else 200)


def redeem(request, workspace_slug, token):
    """GET shows a button (mail scanners that follow links must not spend them); POST signs in."""
    try:
        if request.method == "POST":
            portal_access = services.redeem_sign_in_link(workspace_slug=workspace_slug, token=token)
        else:
            link = services.find_sign_in_link(workspace_slug=workspace_slug, token=token)
            return render(request, "portal/redeem.html", {"link": link})
    except DomainError as e:
        return render(request, "portal/sign_in.html", {"form": forms.SignInForm(), "problem": e.message}, status=400)
    access.start_portal_session(request, portal_access)
    messages.success(request, f"Signed in to {portal_access.workspace.name}.")
    return redirect("portal:home")


@require_POST
def sign_out(request):
    access.end_portal_session(request)
    messages.success(request, "Signed out.")
    return redirect("portal:sign_in")


@portal_view
@require_POST
def switch(request, code):
    target = access.get_my_access(request, code)
    access.switch_portal_access(request, target)
    return redirect("portal:home")


@portal_view
def home(request):
    member = request.portal.member
    today = timezone.localdate()
    ctx = {
        "figures": selectors.home_figures(member=member, today=today),
        "chart": json.dumps(selectors.daily_chart(member=member, today=today)),
        "expected": selectors.next_expected_payment(member=member, today=today),
        "today": today,
    }
    return render(request, "portal/home.html", ctx)
