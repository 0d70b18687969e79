"""``{% portal_member_panel member %}``: the member page's portal box (login, invite, tax form)."""

from django import template

from portal.models import PortalAccess, TaxForm, VanityRequest

register = template.Library()


@register.inclusion_tag("portal/staff/_member_panel.html", takes_context=True)
def portal_member_panel(context, member):
    membership = context.get("membership")
    return {
        "member": member,
        "portal_access": PortalAccess.objects.filter(member=member).first(),
        "tax_form": TaxForm.objects.filter(member=member).first(),
        "pending_requests": VanityRequest.objects.filter(member=member, status=VanityRequest.Status.PENDING).count(),
        "can_manage": bool(membership and membership.can("manage")),
        "csrf_token": context.get("csrf_token"),
    }
