"""Builders for outbound tests."""

from outbound import services
from outbound.models import MemberPostback
from workspaces.outbox import consume

HOOK_URL = "https://hooks.example.com/hub"


def make_endpoint(workspace, topics=("conversion.created", "conversion.updated", "conversion.reversed"), **kw):
    kw.setdefault("url", HOOK_URL)
    return services.create_endpoint(workspace=workspace, topics=list(topics), **kw)


def make_postback(member, url="https://member.example.net/pb?tid={transaction_id}&p={payout}&s={status}"):
    return MemberPostback.objects.create(workspace=member.workspace, member=member, url=url)


def start_cursors():
    """Outbound readers start after what is already written, as a fresh install's would."""
    from outbound.services.messages import CONVERSIONS_CURSOR, EVENTS_CURSOR
    from tracking.models import ConversionEvent
    from workspaces.models import Event

    consume(CONVERSIONS_CURSOR, ConversionEvent, lambda rows: None)
    consume(EVENTS_CURSOR, Event, lambda rows: None)


def outsider_objects(*, workspace, member) -> dict:
    """An endpoint, a member postback and a delivery to each, for tests/outsider.py."""
    from networks.crypto import encrypt_credentials
    from outbound.lib import new_secret
    from outbound.models import Delivery, WebhookEndpoint

    # Straight to the table: the service would resolve the host name, and these tests have no resolver.
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace,
        url=HOOK_URL,
        topics=["payment.sent"],
        secrets_encrypted=encrypt_credentials({"current": new_secret()}),
    )
    postback = make_postback(member)
    delivery = Delivery.objects.create(workspace=workspace, endpoint=endpoint, topic="payment.sent", msg_id="msg_1")
    postback_delivery = Delivery.objects.create(
        workspace=workspace, postback=postback, topic="conversion.created", msg_id="msg_2", url=postback.url
    )
    return {
        "webhook": endpoint,
        "member_postback": postback,
        "delivery": delivery,
        "postback_delivery": postback_delivery,
    }
