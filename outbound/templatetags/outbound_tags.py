"""Outbound panels on pages of the apps below (they include the template; the tag reads the rows)."""

from django import template

from outbound.models import Delivery, MemberPostback

register = template.Library()


@register.simple_tag
def member_postback_summary(member) -> dict:
    """The member page's panel: the member's postbacks and how the last deliveries went."""
    postbacks = list(MemberPostback.objects.filter(workspace_id=member.workspace_id, member=member))
    recent = Delivery.objects.filter(workspace_id=member.workspace_id, postback__member=member)
    return {
        "postbacks": postbacks,
        "failing": [p for p in postbacks if p.failing_since or not p.is_active],
        "last": recent.order_by("-id").first(),
    }


@register.simple_tag
def open_alerts(workspace) -> list:
    """The dashboard's alert strip: open alerts, newest first."""
    from outbound.models import Alert

    return list(Alert.objects.filter(workspace=workspace, closed_at=None).order_by("-opened_at")[:10])


@register.simple_tag
def offer_link_health(offer) -> list:
    """The offer page's link health panel: the latest check of each of its URLs."""
    from outbound.services.linkcheck import latest_checks

    return latest_checks(offer)


@register.simple_tag
def offer_link_problem(offer):
    """The first broken check of the offer's latest run, or None (the warning under the offer's title)."""
    from outbound.services.linkcheck import latest_checks

    return next((c for c in latest_checks(offer) if not c.ok), None)
