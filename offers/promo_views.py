"""Promo code pages: a member's codes (on the member page), the CSV import and export."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from offers import access, forms, services
from offers.models import PromoCode
from offers.views import _render
from workspaces.csv_export import stream_csv
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError


@workspace_view("manage")
@require_POST
def add_promo_code(request, code):
    member = access.get_member(request, code, write=True)
    form = forms.PromoCodeForm(request.POST, workspace=request.workspace)
    if form.is_valid():
        try:
            promo = services.create_promo_code(member=member, **form.cleaned_data)
        except DomainError as e:
            form.add_error("text", e.message)
        else:
            messages.success(request, f"{member.name} now has the promo code {promo.text}.")
            return redirect("tracking:member_detail", code=member.code)
    problems = "; ".join(e for errors in form.errors.values() for e in errors)
    messages.error(request, f"Promo code not added: {problems}")
    return redirect(reverse("tracking:member_detail", kwargs={"code": member.code}) + "#promo-codes")


@workspace_view("manage")
@require_POST
def delete_promo_code(request, code):
    promo = access.get_promo_code(request, code, write=True)
    member = promo.member
    services.delete_promo_code(promo_code=promo)
    messages.success(request, f"Removed the promo code {promo.text}. Sales already credited keep their member.")
    return redirect(reverse("tracking:member_detail", kwargs={"code": member.code}) + "#promo-codes")


@workspace_view("manage")
def import_promo_codes(request):
    form = forms.MemberImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = services.import_promo_codes(workspace=request.workspace, data=form.cleaned_data["file"].read())
        except DomainError as e:
            form.add_error("file", e.message)
        else:
            if report.ok:
                messages.success(request, f"Imported {report.created} promo codes.")
                return redirect("reports:member_list")
    status = 400 if request.method == "POST" and (form.errors or (report and not report.ok)) else 200
    return _render(request, "offers/promo_import.html", {"form": form, "report": report}, status)


@workspace_view()
def export_promo_codes(request):
    codes = PromoCode.objects.filter(workspace=request.workspace).select_related("member", "offer").order_by("key")
    rows = ([c.text, c.member.affiliate_id, c.offer.name if c.offer else ""] for c in codes.iterator(chunk_size=500))
    return stream_csv("promo-codes.csv", ["code", "member", "offer"], rows)
