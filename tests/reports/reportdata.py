"""A small, hand-countable world of clicks and conversions for report tests.

Days are relative to today (in the display time zone); every figure the tests
expect is counted by hand from the rows made here.
"""

import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from offers.models import Link, Member, NetworkConnection, Offer, Project
from tracking.models import Click, Conversion


def at(days_ago: int, hour: int = 12, minute: int = 0):
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def make_click(link, when, *, unique=True, bot=False, state="active", ip="ip-1"):
    return Click.objects.create(
        workspace=link.workspace,
        transaction_id=secrets.token_hex(12),
        link=link,
        offer=link.offer,
        member=link.member,
        created_at=when,
        ip_hash=ip,
        is_unique=unique,
        is_bot=bot,
        offer_state=state,
    )


def make_conversion(
    workspace,
    *,
    member,
    offer,
    when,
    status="approved",
    sale="0",
    network="0",
    payout="0",
    click=None,
    currency="USD",
    source="postback",
    connection=None,
    mismatch=False,
):
    key = secrets.token_hex(8)
    return Conversion.objects.create(
        workspace=workspace,
        connection=connection if connection is not None else (offer.connection if offer else None),
        network="impact",
        dedupe_key=key,
        transaction_id=click.transaction_id if click else "",
        external_id=key,
        click=click,
        offer=offer,
        member=member,
        status=status,
        source=source,
        currency=currency,
        sale_amount=Decimal(sale),
        network_payout=Decimal(network),
        member_payout=Decimal(payout),
        event_at=when,
        affiliate_mismatch=mismatch,
        single_per_transaction=False,
    )


def build_report_world(workspace):
    """Two days of traffic (2 and 1 days ago) plus one click 40 days ago.

    Member Ava (project Spring) on offer Boots (Impact): day -2: 4 counted clicks (3 unique,
    two from one IP) + 1 bot; day -1: 2 counted clicks (2 unique). Conversions: approved
    100.00 sale / 10.00 network / 5.00 member on day -2 (10 s after its click); pending
    50.00 / 5.00 / 2.50 on day -1; reversed 80.00 / 8.00 / 4.00 on day -1 (excluded by
    default); one EUR approved 20.00 / 2.00 / 1.00 on day -1 (counted, not summed in USD).
    Member Ben (no project) on offer Tents (no network, paused): day -1: 3 counted clicks
    (1 unique, all "paused"); one approved conversion with no click, 30.00 / 3.00 / 1.50 and
    an affiliate id mismatch. Test member Tess: 5 clicks and one conversion, never reported.
    """
    conn = NetworkConnection.objects.create(workspace=workspace, kind="impact", label="Impact", currency="USD")
    spring = Project.objects.create(workspace=workspace, name="Spring")
    ava = Member.objects.create(workspace=workspace, name="Ava", project=spring)
    ben = Member.objects.create(workspace=workspace, name="Ben")
    tess = Member.objects.create(workspace=workspace, name="Tess", is_test=True)
    boots = Offer.objects.create(
        workspace=workspace, name="Boots", offer_url="https://shop.test/?t={transaction_id}", connection=conn
    )
    tents = Offer.objects.create(
        workspace=workspace, name="Tents", offer_url="https://tents.test/?t={transaction_id}", paused=True
    )
    ava_boots = Link.objects.create(workspace=workspace, offer=boots, member=ava)
    ben_tents = Link.objects.create(workspace=workspace, offer=tents, member=ben)
    tess_boots = Link.objects.create(workspace=workspace, offer=boots, member=tess)

    first = make_click(ava_boots, at(2, 9), ip="ip-a")
    make_click(ava_boots, at(2, 10), ip="ip-a", unique=False)
    make_click(ava_boots, at(2, 11), ip="ip-b")
    make_click(ava_boots, at(2, 12), ip="ip-c")
    make_click(ava_boots, at(2, 13), bot=True, ip="ip-bot")
    make_click(ava_boots, at(1, 9), ip="ip-d")
    later = make_click(ava_boots, at(1, 10), ip="ip-e")
    for hour in (9, 10, 11):
        make_click(ben_tents, at(1, hour), unique=hour == 9, state="paused", ip="ip-f")
    for hour in range(5):
        make_click(tess_boots, at(1, hour), ip="ip-t")
    make_click(ava_boots, at(40), ip="ip-old")

    make_conversion(
        workspace,
        member=ava,
        offer=boots,
        when=first.created_at + timedelta(seconds=10),
        click=first,
        sale="100.00",
        network="10.00",
        payout="5.00",
    )
    make_conversion(
        workspace,
        member=ava,
        offer=boots,
        when=at(1, 15),
        click=later,
        status="pending",
        sale="50.00",
        network="5.00",
        payout="2.50",
    )
    make_conversion(
        workspace,
        member=ava,
        offer=boots,
        when=at(1, 16),
        status="reversed",
        sale="80.00",
        network="8.00",
        payout="4.00",
        click=later,
    )
    make_conversion(
        workspace,
        member=ava,
        offer=boots,
        when=at(1, 17),
        currency="EUR",
        sale="20.00",
        network="2.00",
        payout="1.00",
        click=later,
    )
    make_conversion(
        workspace,
        member=ben,
        offer=tents,
        when=at(1, 18),
        sale="30.00",
        network="3.00",
        payout="1.50",
        mismatch=True,
    )
    make_conversion(workspace, member=tess, offer=boots, when=at(1, 19), sale="99.00", network="9.00", payout="9.00")
    return {
        "connection": conn,
        "project": spring,
        "ava": ava,
        "ben": ben,
        "tess": tess,
        "boots": boots,
        "tents": tents,
        "ava_boots": ava_boots,
        "ben_tents": ben_tents,
        "tess_boots": tess_boots,
    }
