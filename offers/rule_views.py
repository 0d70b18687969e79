"""Payout rule actions on the offer page: add a rule, move it up, remove it."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from offers import forms, services
from offers.views import offer_page
from workspaces import access
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError


@workspace_view("manage")
@require_POST
def add_payout_rule(request, code):
    offer = access.get_offer(request, code, write=True)
    form = forms.PayoutRuleForm(request.POST)
    if form.is_valid():
        try:
            rule = services.add_payout_rule(offer=offer, **form.cleaned_data)
        except DomainError as e:
            form.add_error("value", e.message)
        else:
            messages.success(request, f"Items with {rule.get_match_display()} {rule.value} now have their own payout.")
            return redirect("offers:offer_detail", code=offer.code)
    return offer_page(request, offer, rule_form=form, status=400)


@workspace_view("manage")
@require_POST
def move_payout_rule_up(request, code):
    rule = access.get_payout_rule(request, code, write=True)
    services.move_payout_rule_up(rule=rule)
    return redirect("offers:offer_detail", code=rule.offer.code)


@workspace_view("manage")
@require_POST
def delete_payout_rule(request, code):
    rule = access.get_payout_rule(request, code, write=True)
    offer = rule.offer
    services.delete_payout_rule(rule=rule)
    messages.success(request, "Payout rule removed. Conversions already priced keep their payout.")
    return redirect("offers:offer_detail", code=offer.code)
