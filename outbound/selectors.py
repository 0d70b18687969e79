"""Reads of the outbound app."""

from django.db.models import QuerySet

from outbound.models import Delivery, MemberPostback, Message, WebhookEndpoint


def list_endpoints(*, workspace) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(workspace=workspace).order_by("status", "created_at")


def list_deliveries(*, workspace, endpoint=None, postback=None, member=None, status: str = "") -> QuerySet[Delivery]:
    """Deliveries of the workspace, newest first, for one endpoint, one postback or one member's postbacks."""
    qs = Delivery.objects.filter(workspace=workspace)
    if endpoint is not None:
        qs = qs.filter(endpoint=endpoint)
    if postback is not None:
        qs = qs.filter(postback=postback)
    if member is not None:
        qs = qs.filter(postback__member=member)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("endpoint", "postback").order_by("-id")


def list_member_postbacks(*, member) -> QuerySet[MemberPostback]:
    return MemberPostback.objects.filter(workspace_id=member.workspace_id, member=member).order_by("created_at")


def list_events(*, workspace, topic: str = "") -> QuerySet[Message]:
    qs = Message.objects.filter(workspace=workspace)
    return qs.filter(topic=topic) if topic else qs


DELIVERY_CSV_HEADER = [
    "queued_at",
    "event",
    "webhook_id",
    "url",
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "delivered_at",
]


def delivery_csv_rows(deliveries):
    for d in deliveries.iterator(chunk_size=500):
        yield [
            d.created_at,
            d.topic,
            d.msg_id,
            d.url or d.target.url,
            d.status,
            d.attempts,
            d.last_status_code,
            d.last_error,
            d.delivered_at,
        ]
