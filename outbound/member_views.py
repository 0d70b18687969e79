"""A member's own postback URLs, as the brand's staff manage them (the member portal has its own pages)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from offers.access import get_member
from outbound import selectors, services
from outbound.forms import MemberPostbackForm
from outbound.lib import POSTBACK_MACROS
from outbound.models import MemberPostback
from outbound.services.webhooks import UrlRefused
from workspaces.access import get_for_request
from workspaces.csv_export import stream_csv
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError


def _postback(request, code, *, write=False) -> MemberPostback:
    return get_for_request(
        request, MemberPostback.objects.select_related("member"), code=code, right="manage" if write else None
    )


def _page(request, member, form, editing=None):
    deliveries = services.list_member_deliveries(member=member, status=request.GET.get("status", ""))
    ctx = {
        "member": member,
        "postbacks": member.outbound_postbacks.order_by("created_at"),
        "form": form,
        "editing": editing,
        "macros": POSTBACK_MACROS,
        "page": Paginator(deliveries, 50).get_page(request.GET.get("page")),
    }
    return render(request, "outbound/member_postbacks.html", ctx)


@workspace_view()
def member_postbacks(request, code):
    member = get_member(request, code, write=request.method == "POST")
    form = MemberPostbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_member_postback(member=member, url=form.cleaned_data["url"])
        except DomainError as e:
            form.add_error("url" if isinstance(e, UrlRefused) else None, e.message)
        else:
            messages.success(request, f"Postback added. {member.name}'s new and changed conversions now call it.")
            return redirect("outbound:member_postbacks", code=member.code)
    return _page(request, member, form)


@workspace_view()
def member_postback_deliveries_csv(request, code):
    member = get_member(request, code)
    deliveries = services.list_member_deliveries(member=member, status=request.GET.get("status", ""))
    rows = selectors.delivery_csv_rows(deliveries)
    return stream_csv(f"postback-deliveries-{member.affiliate_id}.csv", selectors.DELIVERY_CSV_HEADER, rows)


@workspace_view("manage")
def edit_member_postback(request, code):
    postback = _postback(request, code, write=True)
    form = MemberPostbackForm(request.POST or None, initial={"url": postback.url})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_member_postback(member=postback.member, code=postback.code, url=form.cleaned_data["url"])
        except DomainError as e:
            form.add_error("url" if isinstance(e, UrlRefused) else None, e.message)
        else:
            messages.success(request, "Postback saved.")
            return redirect("outbound:member_postbacks", code=postback.member.code)
    return _page(request, postback.member, form, editing=postback)


def _action(request, code, act, done: str):
    postback = _postback(request, code, write=True)
    try:
        act(postback)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, done)
    return redirect("outbound:member_postbacks", code=postback.member.code)


@workspace_view("manage")
@require_POST
def remove_member_postback(request, code):
    def act(p):
        services.remove_member_postback(member=p.member, code=p.code)

    return _action(request, code, act, "Postback removed.")


@workspace_view("manage")
@require_POST
def enable_member_postback(request, code):
    def act(p):
        services.set_member_postback_enabled(member=p.member, code=p.code, enabled=True)

    return _action(request, code, act, "Postback turned on; anything pending is being sent.")


@workspace_view("manage")
@require_POST
def disable_member_postback(request, code):
    def act(p):
        services.set_member_postback_enabled(member=p.member, code=p.code, enabled=False, actor=request.user.email)

    return _action(request, code, act, "Postback turned off.")


@workspace_view("manage")
@require_POST
def test_member_postback(request, code):
    def act(p):
        services.send_test_postback(member=p.member, code=p.code)

    return _action(request, code, act, "Test postback queued; it appears in the log within seconds.")
