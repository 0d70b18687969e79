"""Outbox rows become messages, and messages become deliveries to each target that wants them.

Two outboxes are read, each with its own cursor (workspaces.outbox.consume): tracking's
``ConversionEvent`` (conversion.created / .updated / .reversed, and member postbacks) and
``workspaces.Event`` (payments, settlements, syncs, connections, alerts). The handler runs in
the transaction that moves the cursor, so each row makes its message and deliveries exactly
once, and a change that rolled back never had a row to read.
"""

import json
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from offers.models import Member
from outbound.lib import fill_macros
from outbound.models import TOPICS, Delivery, MemberPostback, Message, TargetStatus, WebhookEndpoint
from tracking.models import Conversion, ConversionEvent
from workspaces.models import Event
from workspaces.outbox import consume

CONVERSIONS_CURSOR = "outbound-conversions"
EVENTS_CURSOR = "outbound-events"
SNAPSHOT_KEYS = ("status", "sale_amount", "network_payout", "member_payout", "currency")
AMOUNT_KEYS = ("sale_amount", "network_payout", "member_payout")


def pump_outbox_all_workspaces(*, rounds: int = 20) -> int:
    """Read both outboxes until they are empty (or ``rounds`` batches each); returns rows read."""
    total = 0
    for model, handle, name in (
        (ConversionEvent, fan_out_conversion_events, CONVERSIONS_CURSOR),
        (Event, fan_out_events, EVENTS_CURSOR),
    ):
        for _ in range(rounds):
            read = consume(name, model, handle)
            total += read
            if not read:
                break
    return total


def body_of(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def envelope(topic: str, data: dict, at=None) -> dict:
    """The Standard Webhooks payload shape."""
    at = at or timezone.now()
    return {"type": topic, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data}


def conversion_topic(event: ConversionEvent) -> str:
    if event.kind == ConversionEvent.Kind.CREATED:
        return "conversion.created"
    before, after = event.before.get("status"), event.after.get("status")
    if after in ("reversed", "rejected") and before != after:
        return "conversion.reversed"
    return "conversion.updated"


def snapshot(values: dict) -> dict:
    """Status, amounts (decimal strings with 2 places) and currency of an event's before or after."""
    out = {key: values.get(key) for key in SNAPSHOT_KEYS}
    for key in AMOUNT_KEYS:
        if out[key] is not None:
            out[key] = f"{Decimal(str(out[key])):.2f}"
    return out


def conversion_data(event: ConversionEvent, conversion: Conversion, member: Member | None) -> dict:
    return {
        "id": str(conversion.code),
        "transaction_id": conversion.transaction_id,
        "external_id": conversion.external_id,
        "network": conversion.network,
        "offer": {"id": str(conversion.offer.code), "name": conversion.offer.name} if conversion.offer else None,
        "member": {"id": str(member.code), "affiliate_id": member.affiliate_id, "name": member.name}
        if member
        else None,
        **snapshot(event.after),
        "source": conversion.source,
        "test": conversion.source == "test",
        "event_at": conversion.event_at.isoformat(),
        "change": event.kind,
        "previous": snapshot(event.before) if event.before else None,
    }


def postback_values(event: ConversionEvent, conversion: Conversion) -> dict:
    click = conversion.click
    values = {f"sub{i}": getattr(click, f"sub{i}", "") if click else "" for i in range(1, 6)}
    return {
        **values,
        "transaction_id": conversion.transaction_id,
        "payout": snapshot(event.after)["member_payout"] or "",
        "status": event.after.get("status", ""),
        "conversion_id": str(conversion.code),
        "offer_id": str(conversion.offer.code) if conversion.offer else "",
    }


class _FanOut:
    """Deliveries made in one batch, and the targets to wake once it commits."""

    def __init__(self):
        self.endpoints: dict[int, list[WebhookEndpoint]] = {}
        self.woken: set[tuple[str, int]] = set()

    def endpoints_of(self, workspace_id: int) -> list[WebhookEndpoint]:
        if workspace_id not in self.endpoints:
            self.endpoints[workspace_id] = list(
                WebhookEndpoint.objects.filter(workspace_id=workspace_id, status=TargetStatus.ACTIVE).order_by("id")
            )
        return self.endpoints[workspace_id]

    def message(self, *, workspace_id: int, topic: str, data: dict, source: str, at) -> Message:
        message = Message.objects.create(
            workspace_id=workspace_id, topic=topic, payload=envelope(topic, data, at), source=source, created_at=at
        )
        body = body_of(message.payload)
        for endpoint in self.endpoints_of(workspace_id):
            if endpoint.wants(topic):
                Delivery.objects.create(
                    workspace_id=workspace_id,
                    endpoint=endpoint,
                    message=message,
                    topic=topic,
                    msg_id=message.msg_id,
                    body=body,
                )
                self.woken.add(("endpoint", endpoint.pk))
        return message

    def wake_on_commit(self) -> None:
        from outbound.tasks import deliver as deliver_task

        for kind, pk in sorted(self.woken):
            transaction.on_commit(lambda kind=kind, pk=pk: deliver_task.delay(kind, pk))


def fan_out_conversion_events(rows: Sequence[ConversionEvent]) -> None:
    fan = _FanOut()
    conversions = Conversion.objects.select_related("offer", "click").in_bulk({r.conversion_id for r in rows})
    member_ids = {r.after.get("member_id") for r in rows} - {None}
    members = Member.objects.in_bulk(member_ids)
    postbacks: dict[int, list[MemberPostback]] = {}
    for row in MemberPostback.objects.filter(member_id__in=member_ids, status=TargetStatus.ACTIVE).order_by("id"):
        postbacks.setdefault(row.member_id, []).append(row)
    for event in rows:
        conversion = conversions[event.conversion_id]
        member = members.get(event.after.get("member_id"))
        topic = conversion_topic(event)
        message = fan.message(
            workspace_id=event.workspace_id,
            topic=topic,
            data=conversion_data(event, conversion, member),
            source=f"conversion-event:{event.pk}",
            at=event.created_at,
        )
        values = postback_values(event, conversion)
        for postback in postbacks.get(member.pk, []) if member else []:
            Delivery.objects.create(
                workspace_id=event.workspace_id,
                postback=postback,
                message=message,
                topic=topic,
                msg_id=message.msg_id,
                url=fill_macros(postback.url, values),
            )
            fan.woken.add(("postback", postback.pk))
    fan.wake_on_commit()


def fan_out_events(rows: Sequence[Event]) -> None:
    fan = _FanOut()
    for event in rows:
        if event.topic not in TOPICS:
            continue  # an event for other readers (notifications, rules), not for the outside
        fan.message(
            workspace_id=event.workspace_id,
            topic=event.topic,
            data={"subject": event.subject, **event.data},
            source=f"event:{event.pk}",
            at=event.created_at,
        )
    fan.wake_on_commit()
