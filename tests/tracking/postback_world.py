"""Small builders for conversion tests: a connection, an offer, a member with a link, and clicks."""

import secrets
from decimal import Decimal

from offers.models import Link, Member, NetworkConnection, Offer
from tracking.models import Click


def make_connection(workspace, kind="impact", **kw):
    kw.setdefault("label", kind.title())
    return NetworkConnection.objects.create(workspace=workspace, kind=kind, **kw)


def make_offer(workspace, connection, **kw):
    kw.setdefault("name", "Spring sale")
    kw.setdefault("offer_url", "https://shop.test/?t={transaction_id}")
    kw.setdefault("payout_type", "percent")
    kw.setdefault("payout_percent", Decimal("10"))
    return Offer.objects.create(workspace=workspace, connection=connection, **kw)


def make_member(workspace, name="Ava", **kw):
    return Member.objects.create(workspace=workspace, name=name, **kw)


def make_click(link, transaction_id=None):
    return Click.objects.create(
        workspace=link.workspace,
        link=link,
        offer=link.offer,
        member=link.member,
        transaction_id=transaction_id or secrets.token_hex(15),
    )


def make_world(workspace, kind="impact", **offer_kw):
    connection = make_connection(workspace, kind)
    offer = make_offer(workspace, connection, **offer_kw)
    member = make_member(workspace)
    link = Link.objects.create(workspace=workspace, offer=offer, member=member)
    click = make_click(link)
    return {"connection": connection, "offer": offer, "member": member, "link": link, "click": click}
