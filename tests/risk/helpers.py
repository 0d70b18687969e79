"""Builders for risk tests: conversions recorded through tracking's services, as a network would report them."""

import itertools
import secrets
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tests.tracking.postback_world import make_world
from tracking.models import Click, ConversionSource, PostbackLog
from tracking.reported import ConversionData
from tracking.services import record_conversion

_seq = itertools.count(1)


def world(workspace, **offer_kw):
    w = make_world(workspace, **offer_kw)
    w["member"].email, w["member"].paypal_email = "ava@creators.test", "ava.pay@creators.test"
    w["member"].save(update_fields=["email", "paypal_email"])
    return w


def click(w, *, at=None, ip_hash="visitor-1", is_bot=False):
    return Click.objects.create(
        workspace=w["link"].workspace,
        link=w["link"],
        offer=w["offer"],
        member=w["member"],
        transaction_id=secrets.token_hex(15),
        created_at=at or timezone.now(),
        ip_hash=ip_hash,
        is_bot=is_bot,
    )


def convert(
    w,
    *,
    the_click=None,
    connection=None,
    source=ConversionSource.POSTBACK,
    params=None,
    sale="100.00",
    payout="10.00",
    status="approved",
    after=timedelta(minutes=30),
    affiliate_id=None,
):
    """Record a conversion on ``the_click`` (a fresh one by default), ``after`` its click."""
    the_click = the_click or click(w, at=timezone.now() - after)
    external_id = f"A{next(_seq)}"
    data = ConversionData(
        external_id=external_id,
        transaction_id=the_click.transaction_id,
        affiliate_id=w["member"].affiliate_id if affiliate_id is None else affiliate_id,
        sale_amount=Decimal(sale),
        network_payout=Decimal(payout),
        status=status,
        currency="USD",
        event_at=the_click.created_at + after,
    )
    postback = None
    if source in (ConversionSource.POSTBACK, ConversionSource.PIXEL):
        postback = PostbackLog(network="impact", method="GET", query=f"oid={external_id}", params=params or {})
    result = record_conversion(connection=connection or w["connection"], data=data, source=source, postback=postback)
    assert result.conversion is not None, result
    return result.conversion
