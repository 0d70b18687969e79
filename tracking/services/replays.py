"""Replays of logged hits and test conversions: the postback pipeline (tracking/ingest.py), started
from the app instead of by a network."""

import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils import timezone

from offers.models import Link, Member, Offer
from tracking.clicks.recording import Visitor, record_click
from tracking.ingest import Hit, Received, process_hit
from tracking.models import ConversionSource, PostbackLog
from tracking.postback_params import sample_values
from workspaces.errors import DomainError


def replay_postback(*, log: PostbackLog) -> Received:
    """Run a logged hit through the pipeline again; the new log row points at the original.

    Access checks (allowlist, Basic auth) are skipped: a manager starts a replay, and
    the original hit already passed or failed them on its own.
    """
    if log.connection_id is None:
        raise DomainError("This hit matched no network connection, so there is nothing to replay it against.")
    if log.response_status == 413:
        raise DomainError("This hit was over the size limit and only its beginning was kept, so it cannot be replayed.")
    hit = Hit(
        method=log.method,
        query=log.query.encode("utf-8").decode("latin-1"),
        body=log.body.encode("utf-8"),
        content_type=log.content_type,
        source_ip=log.source_ip,
    )
    return process_hit(
        connection=log.connection,
        hit=hit,
        is_pixel=log.is_pixel,
        source=ConversionSource.PIXEL if log.is_pixel else ConversionSource.POSTBACK,
        is_test=log.is_test,
        replay_of=log,
        check_access=False,
    )


@dataclass(frozen=True)
class TestConversion:
    transaction_id: str
    received: Received


def send_test_conversion(*, offer: Offer) -> TestConversion:
    """Run click, postback and conversion end to end for the workspace's test member.

    1. The offer's connection and an active test member are required (DomainError).
    2. The member's link to the offer is reused, or created.
    3. A real click is recorded through the click service.
    4. The postback the network would send (this connection's template, test values)
       goes through process_hit with source "test", so the log shows it like any hit.
    """
    connection = offer.connection
    if connection is None:
        raise DomainError("Choose a network connection for this offer first; the test uses its postback URL.")
    member = (
        Member.objects.filter(workspace_id=offer.workspace_id, is_test=True, status=Member.Status.ACTIVE)
        .order_by("id")
        .first()
    )
    if member is None:
        raise DomainError("This workspace has no test member. Add a member and tick “test member” to send one.")
    link = Link.objects.filter(offer=offer, member=member, archived_at=None).order_by("id").first()
    if link is None:
        link = Link.objects.create(workspace_id=offer.workspace_id, offer=offer, member=member)
    link.offer, link.member = offer, member
    visitor = Visitor(ip="", user_agent="Affiliate hub test conversion", referrer="")
    click = record_click(link=link, visitor=visitor)
    now = timezone.now()
    values = sample_values(
        connection.kind,
        protocol=offer.protocol,
        transaction_id=click.transaction_id,
        affiliate_id=member.affiliate_id,
        order_id="TEST-" + secrets.token_hex(6),
        currency=connection.currency,
        now=now,
    )
    hit = Hit(method="GET", query=urlencode(values), body=b"", content_type="", source_ip=None)
    received = process_hit(
        connection=connection, hit=hit, is_pixel=False, source=ConversionSource.TEST, is_test=True, check_access=False
    )
    return TestConversion(click.transaction_id, received)
