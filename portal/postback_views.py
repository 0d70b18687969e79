"""The member's own postback URLs in the portal: add, edit, turn on and off, remove, test, and the delivery log.

The outbound app does the work (``outbound.services``: every function takes the member and
touches only that member's rows). Here the member is always the signed-in one
(``request.portal.member``), so another member's postback or delivery is a 404.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from outbound import selectors as outbound_selectors
from outbound import services as outbound
from outbound.forms import MemberPostbackForm
from outbound.services.webhooks import UrlRefused
from portal.access import portal_view
from workspaces.csv_export import stream_csv
from workspaces.errors import DomainError


def _page(request, form, editing=None):
    member = request.portal.member
    deliveries = outbound.list_member_deliveries(member=member, status=request.GET.get("status", ""))
    ctx = {
        "postbacks": member.outbound_postbacks.order_by("created_at"),
        "form": form,
        "editing": editing,
        "page": Paginator(deliveries, 50).get_page(request.GET.get("page")),
    }
    return render(request, "portal/postbacks.html", ctx, status=400 if form.errors else 200)


def _save(form, save, done: str, request):
    """Run ``save`` for a valid form; a refused URL goes next to the field, other problems above the form."""
    try:
        save(form.cleaned_data["url"])
    except DomainError as e:
        form.add_error("url" if isinstance(e, UrlRefused) else None, e.message)
        return None
    messages.success(request, done)
    return redirect("portal:postbacks")


@portal_view
def postbacks(request):
    member = request.portal.member
    form = MemberPostbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = _save(
            form,
            lambda url: outbound.add_member_postback(member=member, url=url),
            "Postback added. Your new and changed conversions now call it; send a test to see it arrive.",
            request,
        )
        if done:
            return done
    return _page(request, form)


@portal_view
def edit_postback(request, code):
    member = request.portal.member
    postback = outbound.get_member_postback(member=member, code=code)
    form = MemberPostbackForm(request.POST or None, initial={"url": postback.url})
    if request.method == "POST" and form.is_valid():
        done = _save(
            form,
            lambda url: outbound.update_member_postback(member=member, code=postback.code, url=url),
            "Postback saved.",
            request,
        )
        if done:
            return done
    return _page(request, form, editing=postback)


def _act(request, act, done: str):
    try:
        act(request.portal.member)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, done)
    return redirect("portal:postbacks")


@portal_view
@require_POST
def enable_postback(request, code):
    return _act(
        request,
        lambda m: outbound.set_member_postback_enabled(member=m, code=code, enabled=True),
        "Postback turned on; anything waiting is being sent.",
    )


@portal_view
@require_POST
def disable_postback(request, code):
    actor = request.portal.person.email
    return _act(
        request,
        lambda m: outbound.set_member_postback_enabled(member=m, code=code, enabled=False, actor=actor),
        "Postback turned off. Conversions from now on are not sent to it until you turn it on again.",
    )


@portal_view
@require_POST
def remove_postback(request, code):
    return _act(request, lambda m: outbound.remove_member_postback(member=m, code=code), "Postback removed.")


@portal_view
@require_POST
def test_postback(request, code):
    return _act(
        request,
        lambda m: outbound.send_test_postback(member=m, code=code),
        "Test postback queued; it shows in the log below within seconds.",
    )


@portal_view
@require_POST
def replay_delivery(request, code):
    return _act(
        request,
        lambda m: outbound.replay_member_delivery(member=m, code=code),
        "Sent again; the new call shows at the top of the log.",
    )


@portal_view
def deliveries_csv(request):
    deliveries = outbound.list_member_deliveries(member=request.portal.member, status=request.GET.get("status", ""))
    rows = outbound_selectors.delivery_csv_rows(deliveries)
    return stream_csv("postback-deliveries.csv", outbound_selectors.DELIVERY_CSV_HEADER, rows)
