"""Payout rule actions on the offer page: add a rule, move it up, remove it."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from offers import access, forms, services
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError


def _page(offer) -> str:
    return reverse("tracking:offer_detail", kwargs={"code": offer.code}) + "#payout-rules"


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
            return redirect(_page(offer))
    problems = "; ".join(e for errors in form.errors.values() for e in errors)
    messages.error(request, f"Payout rule not added: {problems}")
    return redirect(_page(offer))


@workspace_view("manage")
@require_POST
def move_payout_rule_up(request, code):
    rule = access.get_payout_rule(request, code, write=True)
    services.move_payout_rule_up(rule=rule)
    return redirect(_page(rule.offer))


@workspace_view("manage")
@require_POST
def delete_payout_rule(request, code):
    rule = access.get_payout_rule(request, code, write=True)
    offer = rule.offer
    services.delete_payout_rule(rule=rule)
    messages.success(request, "Payout rule removed. Conversions already priced keep their payout.")
    return redirect(_page(offer))
