from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from offers import access, forms, lib, selectors, services
from offers.models import Member, Offer
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError

PAGE_SIZE = 50


def _render(request, template, ctx=None, status=200):
    ctx = {"can_manage": bool(request.membership and request.membership.can("manage")), **(ctx or {})}
    return render(request, template, ctx, status=status)


def _page(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Projects ---------------------------------------------------------------


@workspace_view()
def project_list(request):
    form = forms.SearchForm(request.GET)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    archived = request.GET.get("archived") == "1"
    projects = selectors.list_projects(workspace=request.workspace, q=q, archived=archived)
    ctx = {"form": form, "projects": projects, "archived": archived, "q": q}
    return _render(request, "offers/project_list.html", ctx)


@workspace_view("manage")
def add_project(request):
    form = forms.ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(workspace=request.workspace, **form.cleaned_data)
        except DomainError as e:
            form.add_error("name", e.message)
        else:
            messages.success(request, f"Created project {project.name}.")
            return redirect("offers:project_list")
    return _render(request, "offers/project_form.html", {"form": form})


@workspace_view("manage")
def edit_project(request, code):
    project = access.get_project(request, code, write=True)
    form = forms.ProjectForm(request.POST or None, initial={"name": project.name, "description": project.description})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_project(project=project, **form.cleaned_data)
        except DomainError as e:
            form.add_error("name", e.message)
        else:
            messages.success(request, "Project saved.")
            return redirect("offers:project_list")
    return _render(request, "offers/project_form.html", {"form": form, "project": project})


@workspace_view("manage")
@require_POST
def archive_project(request, code):
    project = access.get_project(request, code, write=True)
    services.archive_project(project=project)
    messages.success(request, f"Archived {project.name}. Its members keep their links.")
    return redirect("offers:project_list")


@workspace_view("manage")
@require_POST
def restore_project(request, code):
    project = access.get_project(request, code, write=True)
    services.restore_project(project=project)
    messages.success(request, f"Restored {project.name}.")
    return redirect("offers:project_list")


# --- Members ----------------------------------------------------------------


@workspace_view("manage")
def add_member(request):
    form = forms.MemberForm(request.POST or None, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.create_member(workspace=request.workspace, **form.cleaned_data)
        except DomainError as e:
            form.add_error("email", e.message)
        else:
            messages.success(request, f"Added {member.name} (affiliate id {member.affiliate_id}).")
            return redirect("tracking:member_detail", code=member.code)
    return _render(request, "offers/member_form.html", {"form": form})


@workspace_view("manage")
def import_members(request):
    form = forms.MemberImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = services.import_members(workspace=request.workspace, data=form.cleaned_data["file"].read())
        except DomainError as e:
            form.add_error("file", e.message)
        else:
            if report.ok:
                messages.success(
                    request, f"Imported {report.rows} members: {report.created} new, {report.updated} updated."
                )
                return redirect("reports:member_list")
    status = 400 if request.method == "POST" and (form.errors or (report and not report.ok)) else 200
    ctx = {"form": form, "report": report, "columns": services.IMPORT_COLUMNS}
    return _render(request, "offers/member_import.html", ctx, status)


@workspace_view("manage")
def edit_member(request, code):
    member = access.get_member(request, code, write=True)
    initial = {f: getattr(member, f) for f in services.MEMBER_FIELDS}
    initial["project"] = member.project.code if member.project else None
    form = forms.MemberForm(request.POST or None, initial=initial, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_member(member=member, **form.cleaned_data)
        except DomainError as e:
            form.add_error("email", e.message)
        else:
            messages.success(request, "Member saved.")
            return redirect("tracking:member_detail", code=member.code)
    return _render(request, "offers/member_form.html", {"form": form, "member": member})


@workspace_view("manage")
@require_POST
def archive_member(request, code):
    member = access.get_member(request, code, write=True)
    services.archive_member(member=member)
    messages.success(request, f"Archived {member.name}. Their links now send visitors to the offer's fallback URL.")
    return redirect("tracking:member_detail", code=member.code)


@workspace_view("manage")
@require_POST
def restore_member(request, code):
    member = access.get_member(request, code, write=True)
    services.restore_member(member=member)
    messages.success(request, f"Restored {member.name}.")
    return redirect("tracking:member_detail", code=member.code)


# --- Offers -----------------------------------------------------------------


@workspace_view()
def offer_list(request):
    form = forms.OfferFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    state, q = filters.get("state", ""), filters.get("q", "")
    offers = selectors.list_offers(workspace=request.workspace, q=q, state=state)
    ctx = {
        "offers": offers,
        "state": state,
        "q": q,
        "states": forms.OFFER_STATE_FILTER,
        "any_offers": request.workspace.offers.exists(),
    }
    return _render(request, "offers/offer_list.html", ctx)


@workspace_view("manage")
def new_offer(request):
    return _render(request, "offers/offer_new.html")


def _offer_form_page(request, form, offer=None, status=200):
    ctx = {"form": form, "offer": offer, "has_connections": form.fields["connection"].queryset.exists()}
    return _render(request, "offers/offer_form.html", ctx, status)


def _chosen_network(request, data) -> str:
    """The chosen connection's kind, else the network the offer URL looks like."""
    field = forms.OfferForm(workspace=request.workspace).fields["connection"]
    try:
        connection = field.clean(data.get("connection", ""))
    except ValidationError:
        connection = None
    return connection.kind if connection else lib.detect_network(data.get("offer_url", ""))


def _with_network_params(request):
    """The offer form re-bound with its URL rewritten to carry the network's tracking parameters."""
    data = request.POST.copy()
    url = data.get("offer_url", "").strip()
    data["offer_url"] = services.append_network_params(url=url, kind=_chosen_network(request, data))
    return forms.OfferForm(data, workspace=request.workspace)


@workspace_view("manage")
def add_offer(request):
    form = forms.OfferForm(request.POST or None, workspace=request.workspace)
    if request.method == "POST" and "append_params" in request.POST:
        return _offer_form_page(request, _with_network_params(request))
    if request.method == "POST" and form.is_valid():
        try:
            offer = services.create_offer(workspace=request.workspace, **form.cleaned_data)
        except DomainError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, f"Created {offer.name}. Next: generate links for your members.")
            return redirect("tracking:offer_detail", code=offer.code)
    return _offer_form_page(request, form, status=400 if form.errors else 200)


@workspace_view("manage")
def edit_offer(request, code):
    offer = access.get_offer(request, code, write=True)
    form = forms.OfferForm(
        request.POST or None, initial=forms.OfferForm.initial_for(offer), workspace=request.workspace
    )
    if request.method == "POST" and "append_params" in request.POST:
        return _offer_form_page(request, _with_network_params(request), offer)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_offer(offer=offer, **form.cleaned_data)
        except DomainError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, "Offer saved.")
            return redirect("tracking:offer_detail", code=offer.code)
    return _offer_form_page(request, form, offer, status=400 if form.errors else 200)


@workspace_view("manage")
@require_POST
def offer_network_params(request):
    """htmx: the offer URL field, rewritten with the chosen network's tracking parameters."""
    form = _with_network_params(request)
    before = request.POST.get("offer_url", "").strip()
    ctx = {"form": form, "kind": _chosen_network(request, request.POST), "changed": form.data["offer_url"] != before}
    response = _render(request, "offers/_offer_url_field.html", ctx)
    # The live preview listens for it. After the swap, so that the preview reads the new URL.
    response["HX-Trigger-After-Swap"] = "offer-url-changed"
    return response


@workspace_view()
@require_POST
def offer_preview(request):
    """htmx: where a generated link of the offer being edited would land."""
    form = forms.OfferForm(request.POST, workspace=request.workspace)
    form.is_valid()
    values = {name: form.cleaned_data.get(name) for name in services.OFFER_FIELDS if name in form.cleaned_data}
    url = (request.POST.get("offer_url") or "").strip()
    problems = services.offer_url_problems(url, protocol=values.get("protocol") or "")
    offer = Offer(
        workspace=request.workspace,
        offer_url=url,
        connection=values.get("connection"),
        allowed_domains=values.get("allowed_domains") or "",
        **{k: values.get(k) or "" for k in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")},
    )
    member = Member.objects.filter(workspace=request.workspace, status=Member.Status.ACTIVE).order_by("name").first()
    destination = "" if problems else services.preview_destination(offer=offer, member=member)
    devices = []  # ("ios" or "android", where a phone's click lands) for each valid device URL
    for device in lib.DEVICES:
        field = f"{device}_url"
        device_url = (request.POST.get(field) or "").strip()
        if problems or not device_url or services.offer_url_problems(device_url, protocol=values.get("protocol") or ""):
            continue
        setattr(offer, field, device_url)
        devices.append((device, services.preview_destination(offer=offer, member=member, device=device)))
    ctx = {"problems": problems, "destination": destination, "member": member, "devices": devices}
    return _render(request, "offers/_offer_preview.html", ctx)


def _offer_action(request, code, action, message):
    offer = access.get_offer(request, code, write=True)
    try:
        action(offer=offer)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, message.format(name=offer.name))
    return redirect("tracking:offer_detail", code=offer.code)


@workspace_view("manage")
@require_POST
def pause_offer(request, code):
    return _offer_action(request, code, services.pause_offer, "Paused {name}: clicks now go to the fallback URL.")


@workspace_view("manage")
@require_POST
def resume_offer(request, code):
    return _offer_action(request, code, services.resume_offer, "Resumed {name}.")


@workspace_view("manage")
@require_POST
def archive_offer(request, code):
    return _offer_action(request, code, services.archive_offer, "Archived {name}; its links go to the fallback URL.")


@workspace_view("manage")
@require_POST
def restore_offer(request, code):
    return _offer_action(request, code, services.restore_offer, "Restored {name}. It stays paused until you resume it.")


@workspace_view("manage")
@require_POST
def add_override(request, code):
    offer = access.get_offer(request, code, write=True)
    form = forms.PayoutOverrideForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        messages.error(request, "Payout override not saved: " + "; ".join(e for es in form.errors.values() for e in es))
        return redirect("tracking:offer_detail", code=offer.code)
    try:
        override = services.set_payout_override(offer=offer, **form.cleaned_data)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"{override.member.name} now has their own payout on this offer.")
    return redirect("tracking:offer_detail", code=offer.code)


@workspace_view("manage")
@require_POST
def remove_override(request, code, member_code):
    offer = access.get_offer(request, code, write=True)
    member = access.get_member(request, member_code, write=True)
    services.remove_payout_override(offer=offer, member=member)
    messages.success(request, f"{member.name} is back on the offer's payout.")
    return redirect("tracking:offer_detail", code=offer.code)


# --- Links ------------------------------------------------------------------


@workspace_view("manage")
def add_links(request):
    initial = {
        "offer": request.GET.get("offer"),
        "members": request.GET.getlist("members"),
        "project": request.GET.get("project"),
    }
    form = forms.LinkGenerateForm(request.POST or None, initial=initial, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            report = services.generate_links(
                offer=data["offer"],
                members=data["member_list"],
                destination_url=data["destination_url"],
                vanity=data["vanity"],
                subs=form.subs(),
                allow_duplicates=data["allow_duplicates"],
            )
        except DomainError as e:
            form.add_error(None, e.message)
        else:
            return _render(request, "offers/links_created.html", {"report": report, "offer": data["offer"]})
    status = 400 if form.errors else 200
    return _render(request, "offers/link_form.html", {"form": form}, status)


@workspace_view()
def link_qr_png(request, code):
    link = access.get_link(request, code)
    response = HttpResponse(services.link_qr_png(link), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="link-{link.vanity or link.code}.png"'
    return response


@workspace_view()
def link_qr_svg(request, code):
    link = access.get_link(request, code)
    response = HttpResponse(services.link_qr_svg(link), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="link-{link.vanity or link.code}.svg"'
    return response


@workspace_view("manage")
@require_POST
def archive_link(request, code):
    link = access.get_link(request, code, write=True)
    services.archive_link(link=link)
    messages.success(request, f"Archived link {link}.")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("reports:link_list")
