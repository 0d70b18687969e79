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
