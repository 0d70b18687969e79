"""The brand's side of the portal: invitations, vanity slug requests and the tax-form rule.

Staff pages like any other: ``workspace_view`` and ``workspaces/access.py``.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from offers import access
from offers.models import Member
from portal import forms, services
from portal.models import PortalAccess, PortalSettings, TaxForm, VanityRequest
from workspaces.access import get_for_request
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError


@workspace_view()
def overview(request):
    ws = request.workspace
    rule = PortalSettings.objects.filter(workspace=ws).first()
    ctx = {
        "accesses": PortalAccess.objects.filter(workspace=ws)
        .select_related("member", "person")
        .order_by("member__name"),
        "requests": VanityRequest.objects.filter(workspace=ws, status=VanityRequest.Status.PENDING)
        .select_related("member", "link__offer")
        .order_by("created_at"),
        "tax_forms": TaxForm.objects.filter(workspace=ws).select_related("member").order_by("member__name"),
        "settings_form": forms.PortalSettingsForm(initial={"require_tax_form": bool(rule and rule.require_tax_form)}),
        "projects": ws.projects.filter(archived_at=None).order_by("name"),
        "can_manage": request.membership.can("manage"),
        "can_admin": request.membership.can("admin"),
    }
    return render(request, "portal/staff/overview.html", ctx)


@workspace_view("manage")
@require_POST
def invite_member(request, code):
    member = access.get_member(request, code, write=True)
    try:
        services.invite_member(member=member, invited_by=request.user)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"Emailed {member.name} a sign-in link to the member portal ({member.email}).")
    return redirect("tracking:member_detail", code=member.code)


@workspace_view("manage")
@require_POST
def invite_members(request):
    """Invite every active member with an email who has no portal login yet (of one project, if given)."""
    members = Member.objects.filter(
        workspace=request.workspace, status=Member.Status.ACTIVE, is_test=False, portal_access__isnull=True
    ).exclude(email="")
    project_code = request.POST.get("project") or ""
    if project_code:
        project = access.get_project(request, project_code)
        members = members.filter(project=project)
    invited, _ = services.invite_members(members=list(members.order_by("name")), invited_by=request.user)
    if invited:
        messages.success(request, f"Invited {len(invited)} member(s) to the portal; each gets a sign-in link by email.")
    else:
        messages.info(request, "Nobody to invite: every active member with an email already has a portal login.")
    return redirect("portal_staff:overview")


@workspace_view("manage")
@require_POST
def decide_vanity(request, code, decision):
    vanity_request = get_for_request(request, VanityRequest.objects.all(), code=code, right="manage")
    if decision not in ("approve", "decline"):
        raise Http404("Not found")
    try:
        services.decide_vanity_request(
            request=vanity_request,
            approve=decision == "approve",
            actor=request.user.email,
            note=request.POST.get("note", ""),
        )
    except DomainError as e:
        messages.error(request, e.message)
    else:
        verb = "Approved" if decision == "approve" else "Declined"
        messages.success(request, f"{verb} /c/{vanity_request.slug} for {vanity_request.member.name}.")
    return redirect("portal_staff:overview")


@workspace_view("admin")
@require_POST
def update_settings(request):
    form = forms.PortalSettingsForm(request.POST)
    form.is_valid()
    services.update_portal_settings(
        workspace=request.workspace, require_tax_form=form.cleaned_data.get("require_tax_form", False)
    )
    messages.success(request, "Portal settings saved.")
    return redirect("portal_staff:overview")
