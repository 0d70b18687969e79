from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from workspaces import access, services, timezones
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError
from workspaces.forms import (
    AccountForm,
    ApiKeyForm,
    InviteForm,
    RoleForm,
    SignupForm,
    WorkspaceForm,
    WorkspaceSettingsForm,
)
from workspaces.middleware import SESSION_KEY
from workspaces.models import Invitation, Membership


@login_required
def home(request):
    if request.workspace is None:
        return redirect("workspaces:create")
    if request.membership.role == "finance":
        return redirect("payments:overview")  # what finance comes for
    return redirect("reports:dashboard")


@login_required
def create(request):
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ws = services.create_workspace(owner=request.user, **form.cleaned_data)
        request.session[SESSION_KEY] = str(ws.code)
        messages.success(request, f"Created {ws.name}.")
        return redirect("workspaces:home")
    return render(request, "workspaces/create.html", {"form": form})


@login_required
@require_POST
def switch(request, code):
    membership = Membership.objects.filter(user=request.user, workspace__code=code).first()
    if membership is None:
        raise Http404("Not found")
    request.session[SESSION_KEY] = str(membership.workspace.code)
    return redirect("workspaces:home")


@workspace_view()
def settings_page(request):
    ws = request.workspace
    form = WorkspaceSettingsForm(
        initial={
            "name": ws.name,
            "crediting_delay_days": ws.crediting_delay_days,
            "holiday_country": ws.holiday_country,
        }
    )
    ctx = {
        "form": form,
        "team": ws.memberships.select_related("user").order_by("created_at"),
        "invitations": ws.invitations.filter(accepted_at=None).order_by("-created_at"),
        "api_keys": ws.api_keys.order_by("revoked_at", "-created_at"),
        "domains": ws.tracking_domains.order_by("-is_primary", "host"),
        "site_url": settings.SITE_URL,
        "invite_form": InviteForm(),
        "key_form": ApiKeyForm(),
        "roles": RoleForm.base_fields["role"].choices,
    }
    return render(request, "workspaces/settings.html", ctx)


@workspace_view("admin")
@require_POST
def update_settings(request):
    form = WorkspaceSettingsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("workspaces:settings")
    ws = request.workspace
    ws.name = form.cleaned_data["name"]
    ws.crediting_delay_days = form.cleaned_data["crediting_delay_days"]
    ws.holiday_country = form.cleaned_data["holiday_country"]
    ws.save(update_fields=["name", "crediting_delay_days", "holiday_country", "updated_at"])
    messages.success(request, "Settings saved.")
    return redirect("workspaces:settings")


@workspace_view("admin")
@require_POST
def invite(request):
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a valid email address and role.")
        return redirect("workspaces:settings")
    try:
        invitation = services.invite_user(workspace=request.workspace, invited_by=request.user, **form.cleaned_data)
    except DomainError as e:
        messages.error(request, e.message)
        return redirect("workspaces:settings")
    messages.success(request, f"Invitation sent to {invitation.email}. Link: {services.invitation_url(invitation)}")
    return redirect("workspaces:settings")


@workspace_view("admin")
@require_POST
def cancel_invitation(request, pk):
    invitation = access.get_invitation(request, pk)
    invitation.delete()
    messages.success(request, "Invitation cancelled.")
    return redirect("workspaces:settings")


@workspace_view("admin")
@require_POST
def change_role(request, pk):
    membership = access.get_in_workspace(request.workspace, Membership, pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("workspaces:settings")
    try:
        services.change_role(membership=membership, role=form.cleaned_data["role"])
    except DomainError as e:
        messages.error(request, e.message)
    return redirect("workspaces:settings")


@workspace_view("admin")
@require_POST
def remove_member(request, pk):
    membership = access.get_in_workspace(request.workspace, Membership, pk=pk)
    try:
        services.remove_membership(membership=membership)
    except DomainError as e:
        messages.error(request, e.message)
    return redirect("workspaces:settings")


@workspace_view("admin")
@require_POST
def create_api_key(request):
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the key a name.")
        return redirect("workspaces:settings")
    key, raw = services.create_api_key(workspace=request.workspace, created_by=request.user, **form.cleaned_data)
    # Shown once, on this page only; only the hash is stored.
    return render(request, "workspaces/api_key_created.html", {"key": key, "raw": raw})


@workspace_view("admin")
@require_POST
def revoke_api_key(request, code):
    key = access.get_api_key(request, code)
    services.revoke_api_key(key=key)
    messages.success(request, f"Revoked {key.name}.")
    return redirect("workspaces:settings")


def accept_invitation(request, token):
    invitation = Invitation.objects.select_related("workspace").filter(token=token).first()
    if invitation is None or not invitation.is_open:
        return render(request, "workspaces/invitation_invalid.html", status=404)
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.accept_invitation(token=token, user=request.user)
            except DomainError as e:
                messages.error(request, e.message)
                return redirect("workspaces:accept_invitation", token=token)
            request.session[SESSION_KEY] = str(membership.workspace.code)
            return redirect("workspaces:home")
        return render(request, "workspaces/invitation.html", {"invitation": invitation})
    form = SignupForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        user = get_user_model().objects.create_user(
            username=invitation.email,
            email=invitation.email,
            password=form.cleaned_data["password"],
            first_name=form.cleaned_data["name"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        membership = services.accept_invitation(token=token, user=user)
        request.session[SESSION_KEY] = str(membership.workspace.code)
        return redirect("workspaces:home")
    return render(request, "workspaces/invitation.html", {"invitation": invitation, "form": form})


@login_required
def account(request):
    """The signed-in person's own settings: the zone they read times in (and a link to their password)."""
    form = AccountForm(request.POST or None, initial={"time_zone": timezones.zone_name_for(request.user)})
    if request.method == "POST" and form.is_valid():
        zone = timezones.set_time_zone(user=request.user, name=form.cleaned_data["time_zone"], session=request.session)
        messages.success(request, f"Dates and times are now shown in {zone}.")
        return redirect("workspaces:account")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "workspaces/account.html", {"form": form}, status=status)
