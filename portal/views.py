"""The member portal's pages. Each starts from ``request.portal`` (portal/access.py)."""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from offers import services as offer_services
from offers.models import Offer
from payments import selectors as payment_selectors
from portal import access, forms, selectors, services
from portal.access import portal_view
from portal.models import TaxForm, VanityRequest
from workspaces.csv_export import stream_csv
from workspaces.errors import DomainError


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


@portal_view
def links(request):
    member = request.portal.member
    my_links = list(selectors.my_links(member=member))
    deep_form = forms.DeepLinkForm(request.POST or None, links=[lk for lk in my_links if lk.offer.allowed_domains])
    if request.method == "POST" and deep_form.is_valid():
        link = access.get_my_link(request, deep_form.cleaned_data["link"])
        try:
            made = services.create_deep_link(member=member, link=link, url=deep_form.cleaned_data["url"])
        except DomainError as e:
            deep_form.add_error("url", e.message)
        else:
            messages.success(request, f"Your deep link is ready: {made.url}")
            return redirect("portal:link_detail", code=made.code)
    pending = dict(
        VanityRequest.objects.filter(member=member, status=VanityRequest.Status.PENDING).values_list("link_id", "slug")
    )
    for link in my_links:
        link.pending_slug = pending.get(link.id, "")
    ctx = {"links": my_links, "deep_form": deep_form}
    return render(request, "portal/links.html", ctx, status=400 if deep_form.errors else 200)


@portal_view
def link_detail(request, code):
    member = request.portal.member
    link = access.get_my_link(request, code)
    ctx = {
        "link": link,
        "clicks": selectors.link_clicks(member=member, link=link),
        "conversions": selectors.link_conversions(member=member, link=link),
        "requests": VanityRequest.objects.filter(link=link).order_by("-created_at")[:5],
        "vanity_form": forms.VanityForm(),
    }
    return render(request, "portal/link_detail.html", ctx)


@portal_view
def link_qr_png(request, code):
    link = access.get_my_link(request, code)
    response = HttpResponse(offer_services.link_qr_png(link), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="link-{link.vanity or link.code}.png"'
    return response


@portal_view
def link_qr_svg(request, code):
    link = access.get_my_link(request, code)
    response = HttpResponse(offer_services.link_qr_svg(link), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="link-{link.vanity or link.code}.svg"'
    return response


@portal_view
@require_POST
def request_vanity(request, code):
    link = access.get_my_link(request, code)
    form = forms.VanityForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("Type the vanity slug you would like.")
        made = services.request_vanity(member=request.portal.member, link=link, slug=form.cleaned_data["slug"])
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request, f"Asked {request.portal.workspace.name} for /c/{made.slug}. You will see it here once approved."
        )
    return redirect("portal:link_detail", code=link.code)


@portal_view
def click_detail(request, transaction_id):
    click = access.get_my_click(request, transaction_id)
    conversions = click.conversions.filter(member=request.portal.member).order_by("-event_at")
    return render(request, "portal/click_detail.html", {"click": click, "conversions": conversions})


@portal_view
def conversion_detail(request, code):
    conversion = access.get_my_conversion(request, code)
    return render(request, "portal/conversion_detail.html", {"c": conversion})


def _conversion_filters(request):
    member = request.portal.member
    offers = Offer.objects.filter(workspace_id=member.workspace_id, links__member=member).distinct().order_by("name")
    form = forms.ConversionFilterForm(request.GET or None, offers=offers)
    return form, form.filters()


@portal_view
def conversions(request):
    form, filters = _conversion_filters(request)
    rows = selectors.my_conversions(member=request.portal.member, **filters)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"form": form, "page": page, "filtered": any(filters.values()), "query": query.urlencode()}
    return render(request, "portal/conversions.html", ctx)


@portal_view
def conversions_csv(request):
    _, filters = _conversion_filters(request)
    rows = (
        [
            c.event_at,
            c.offer.name if c.offer else "",
            c.status,
            c.sale_amount,
            c.member_payout,
            c.currency,
            c.transaction_id,
            c.locking_at,
            str(c.code),
        ]
        for c in selectors.my_conversions(member=request.portal.member, **filters).iterator(chunk_size=500)
    )
    header = ["date", "offer", "status", "sale_amount", "payout", "currency", "transaction_id", "locks_at", "id"]
    return stream_csv("conversions.csv", header, rows)


@portal_view
def statement(request):
    member = request.portal.member
    ctx = payment_selectors.member_statement(workspace=request.portal.workspace, member=member)
    return render(request, "portal/statement.html", ctx)


@portal_view
def payment_detail(request, code):
    payment = access.get_my_payment(request, code)
    return render(request, "portal/payment_detail.html", {"p": payment})


def _settings_context(request, **forms_given) -> dict:
    portal_access = request.portal.access
    initial = {
        "notify_conversion_approved": portal_access.notify_conversion_approved,
        "notify_payment_sent": portal_access.notify_payment_sent,
    }
    return {
        "payout_form": forms.PayoutEmailForm(),
        "notifications_form": forms.NotificationsForm(initial=initial),
        "waiting": portal_access.payout_changes.filter(confirmed_at=None, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first(),
        "tax_form": TaxForm.objects.filter(member=request.portal.member).first(),
        **forms_given,
    }


@portal_view
def settings_page(request):
    return render(request, "portal/settings.html", _settings_context(request))


@portal_view
@require_POST
def change_payout_email(request):
    form = forms.PayoutEmailForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/settings.html", _settings_context(request, payout_form=form), status=400)
    services.request_payout_email_change(access=request.portal.access, new_email=form.cleaned_data["paypal_email"])
    messages.success(
        request,
        f"We emailed a confirmation link to {request.portal.person.email}. Payments go to "
        f"{form.cleaned_data['paypal_email']} once you confirm it.",
    )
    return redirect("portal:settings")


@portal_view
@require_POST
def update_notifications(request):
    form = forms.NotificationsForm(request.POST)
    form.is_valid()
    services.update_notifications(
        access=request.portal.access,
        conversion_approved=form.cleaned_data["notify_conversion_approved"],
        payment_sent=form.cleaned_data["notify_payment_sent"],
    )
    messages.success(request, "Email notifications saved.")
    return redirect("portal:settings")


def confirm_payout_email(request, workspace_slug, token):
    """The link from the confirmation email: GET asks, POST applies (the token is the credential)."""
    try:
        if request.method == "POST":
            member = services.confirm_payout_email_change(workspace_slug=workspace_slug, token=token)
            return render(request, "portal/payout_confirmed.html", {"member": member})
        change = services.find_payout_email_change(workspace_slug=workspace_slug, token=token)
    except DomainError as e:
        return render(request, "portal/payout_confirm.html", {"problem": e.message}, status=400)
    return render(request, "portal/payout_confirm.html", {"change": change})


@portal_view
def tax_form(request):
    member = request.portal.member
    current = TaxForm.objects.filter(member=member).first()
    form = forms.TaxFormForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_tax_form(member=member, data=form.cleaned_data)
        except services.TaxFormProblem as e:
            form.add_error(e.field, e.message)
        else:
            messages.success(request, "Tax form saved. The brand sees your tax id masked.")
            return redirect("portal:settings")
    ctx = {"form": form, "current": current, "required": selectors.tax_form_required(member=member)}
    return render(request, "portal/tax_form.html", ctx, status=400 if form.errors else 200)
